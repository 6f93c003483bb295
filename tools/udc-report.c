/*
 * udc-report.c - write the report of a round's released tables.
 *
 *   udc-report -c CONFIG -o OUTDIR [--compare OLD.csv OLD.json]
 *              [--csv-separator C] RESULT.csv RESULT.json
 *
 * A thin command line around common/report/report.h: report.html,
 * indicators.csv and indicators.json in OUTDIR; prints the path of
 * report.html.  docs/report.md is its manual.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "report.h"

#ifndef UDC_VERSION
#define UDC_VERSION "0"
#endif

static const char *progname = "udc-report";

enum {
	EX_OK = 0,
	EX_USAGE = 1,   /* bad options or arguments */
	EX_CONFIG = 2,  /* the configuration or its map, or they do not fit the release */
	EX_RELEASE = 3, /* result.csv / result.json cannot be read or are malformed */
	EX_OUTPUT = 4,  /* the output directory or a file in it cannot be written */
	EX_OTHER = 5,   /* out of memory, or anything else */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: %s -c CONFIG -o OUTDIR [--compare OLD.csv OLD.json]\n"
	        "                  [--csv-separator C] [-q] RESULT.csv RESULT.json\n"
	        "\n"
	        "Writes OUTDIR/report.html (one self-contained page), OUTDIR/indicators.csv\n"
	        "and OUTDIR/indicators.json from a round's released documents (the nodes keep\n"
	        "them in STATE/rounds/ID/), and prints the path of report.html.\n"
	        "\n"
	        "  -c, --config CONFIG        the report configuration (docs/report.md)\n"
	        "  -o, --output OUTDIR        where to write; created if missing\n"
	        "      --compare OLD.csv OLD.json\n"
	        "                             an earlier round's documents: changes per area\n"
	        "      --csv-separator C      ; (the default: decimal commas, as Dutch\n"
	        "                             spreadsheets read them) or , (decimal points)\n"
	        "  -q, --quiet                print nothing but errors\n"
	        "  -h, --help                 this text\n"
	        "\n"
	        "Exit status: 0 written, 1 usage, 2 configuration or map (or they do not fit\n"
	        "the release), 3 release documents, 4 output, 5 out of memory or other.\n",
	        progname);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {"compare", required_argument, NULL, 'C'},
	    {"csv-separator", required_argument, NULL, 'S'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct udc_report_opts o = {.csv_sep = ';', .generator = "udc-report " UDC_VERSION};
	enum udc_report_stage stage;
	char err[1024], html[4096];
	struct timespec t0, t1;
	int c, quiet = 0, rv;

	while ((c = getopt_long(argc, argv, "c:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'C':
			/* two arguments: the second is the next word */
			if (optind >= argc) {
				fprintf(stderr, "%s: --compare needs OLD.csv and OLD.json\n", progname);
				return EX_USAGE;
			}
			o.old_csv = optarg;
			o.old_json = argv[optind++];
			break;
		case 'S':
			if (strcmp(optarg, ";") != 0 && strcmp(optarg, ",") != 0) {
				fprintf(stderr, "%s: --csv-separator must be ; or , (not '%s')\n",
				        progname, optarg);
				return EX_USAGE;
			}
			o.csv_sep = optarg[0];
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (o.config == NULL || o.outdir == NULL || argc - optind != 2) {
		usage(stderr);
		return EX_USAGE;
	}
	o.csv = argv[optind];
	o.json = argv[optind + 1];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = udc_report_write(&o, html, sizeof(html), &stage, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rv != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		if (rv == UDC_ENOMEM)
			return EX_OTHER;
		switch (stage) {
		case UDC_REPORT_STAGE_CONFIG: return EX_CONFIG;
		case UDC_REPORT_STAGE_RELEASE: return EX_RELEASE;
		case UDC_REPORT_STAGE_OUTPUT: return EX_OUTPUT;
		case UDC_REPORT_STAGE_NONE: break;
		}
		return EX_OTHER;
	}
	if (!quiet) {
		printf("%s\n", html);
		fprintf(stderr, "%s: written in %.3f s\n", progname,
		        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return EX_OK;
}
