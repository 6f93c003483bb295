/*
 * fuzz_csv.c - the CSV reader and the input layer on top of it.
 *
 * The input is written to an in-memory file and read twice: record by record
 * with udc_csv_* (every field is walked, the column lookups and the error
 * accessors are used), and through udc_input_read with the column mapping
 * and labels of the Den Haag demo for the side its header belongs to
 * (gemeente or CBS), so that the identifier normalisation (normalize.c) and
 * the match-key building see the same hostile bytes.  The first byte of an
 * input that starts with 0x01..0x04 picks another delimiter (';', '\t', '|',
 * ' ') and is not part of the file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "err.h"
#include "fields.h"
#include "fuzz.h"
#include "input.h"
#include "log.h"
#include "spec.h"

static const char spec_text[] =
	"[spec]\nname = fuzz-csv\nmode = exact\n"
	"keys = bsn, surname+birth_date+postcode, given_names+surname+birth_date, "
	"sex+house_number+postcode\n"
	"[gemeente]\nwijk = WK051801, WK051802, WK051803\nleeftijd = 0-3, 4-11, 12-17\n"
	"ooievaarspas = ja, nee\n"
	"[cbs]\nincome_band = 0-100, 100-130, 130-200, 200+\nuitkering = ja, nee\n"
	"[disclosure]\nmin_cell = 0\npad_categories = none\n";

struct side_map {
	const char *field[UDC_MAX_FIELDS];
	const char *label[UDC_MAX_DIMS];
};

static struct udc_spec *spec;
static struct side_map maps[2];

static void
map(struct side_map *m, const char *field, const char *column)
{
	int f = udc_field_parse(field);

	if (f < 0)
		fuzz_fail("unknown field name in fuzz_csv.c");
	m->field[f] = column;
}

static void
setup(void)
{
	char err[256];

	if (spec != NULL)
		return;
	log_setlevel(UDC_LOG_ERR);
	if (udc_spec_parse(spec_text, strlen(spec_text), "fuzz-csv", &spec, err, sizeof(err)) != 0)
		fuzz_fail(err);
	/* scripts/gen-population headers, as tests/integration/harness.py maps them */
	map(&maps[0], "bsn", "bsn");
	map(&maps[0], "given_names", "voornamen");
	map(&maps[0], "surname_prefix", "voorvoegsel");
	map(&maps[0], "surname", "geslachtsnaam");
	map(&maps[0], "birth_date", "geboortedatum");
	map(&maps[0], "sex", "geslacht");
	map(&maps[0], "postcode", "postcode");
	map(&maps[0], "house_number", "huisnummer");
	maps[0].label[0] = "wijk";
	maps[0].label[1] = "leeftijdsklasse";
	maps[0].label[2] = "ooievaarspas";
	map(&maps[1], "bsn", "bsn");
	map(&maps[1], "given_names", "first_names");
	map(&maps[1], "surname_prefix", "prefix");
	map(&maps[1], "surname", "last_name");
	map(&maps[1], "birth_date", "date_of_birth");
	map(&maps[1], "sex", "sex");
	map(&maps[1], "postcode", "postal_code");
	map(&maps[1], "house_number", "house_number");
	maps[1].label[0] = "income_band";
	maps[1].label[1] = "uitkering";
}

static void
read_records(const char *path, char delim)
{
	struct udc_csv *csv;
	char err[512], **fields;
	size_t ncols;
	int rv;

	if (udc_csv_open(&csv, path, delim, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	ncols = udc_csv_ncols(csv);
	FUZZ_CHECK(ncols > 0);
	for (size_t i = 0; i < ncols; i++) {
		const char *name = udc_csv_colname(csv, i);
		FUZZ_CHECK(name != NULL);
		FUZZ_CHECK(udc_csv_find_col(csv, name) == (int)i);
	}
	(void)udc_csv_find_col(csv, "bsn");
	while ((rv = udc_csv_next(csv, &fields)) != UDC_CSV_EOF) {
		if (rv == UDC_CSV_RECORD) {
			size_t total = 0;
			for (size_t i = 0; i < ncols; i++)
				total += strlen(fields[i]);
			FUZZ_CHECK(total <= UDC_CSV_MAX_RECORD);
		} else if (rv == UDC_CSV_BAD) {
			FUZZ_CHECK(udc_csv_error(csv) != NULL);
			(void)udc_csv_error_kind(csv);
		} else {
			break; /* UDC_EIO */
		}
		(void)udc_csv_line(csv);
	}
	(void)udc_csv_path(csv);
	udc_csv_close(csv);
}

struct collect {
	size_t nlabels;
	uint64_t n;
};

static int
collect(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct collect *c = ctx;

	for (size_t i = 0; i < n; i++) {
		int any = 0;
		FUZZ_CHECK(recs[i].label < c->nlabels);
		for (size_t j = 0; j < spec->nkeys; j++)
			if (recs[i].key[j] != NULL)
				any = 1, (void)strlen(recs[i].key[j]);
		for (int f = 0; f < UDC_MAX_FIELDS; f++)
			if (recs[i].field[f] != NULL)
				(void)strlen(recs[i].field[f]);
		FUZZ_CHECK(any);
	}
	c->n += n;
	return 0;
}

static void
read_input(const char *path, char delim, int side)
{
	struct udc_input_opts o;
	struct udc_input_stats st;
	struct collect c = { spec->ncells[side], 0 };
	char err[512] = "";

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.delimiter = delim;
	memcpy(o.columns, maps[side].field, sizeof(o.columns));
	memcpy(o.label_columns, maps[side].label, sizeof(o.label_columns));
	o.spec = spec;
	o.side = side;
	o.chunk = 7;
	if (udc_input_read(&o, collect, &c, &st, err, sizeof(err)) == 0) {
		uint64_t rej = 0;
		for (int r = 0; r < UDC_REJ_MAX; r++)
			rej += st.rejected[r];
		FUZZ_CHECK(st.accepted == c.n);
		FUZZ_CHECK(st.accepted + rej <= st.rows);
		FUZZ_CHECK(st.nexamples <= UDC_INPUT_EXAMPLES);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { ',', ';', '\t', '|', ' ' };
	char path[64], delim = ',';
	int fd, side;

	setup();
	if (size > 0 && data[0] >= 1 && data[0] <= 4) {
		delim = delims[data[0]];
		data++;
		size--;
	}
	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) < 0)
		fuzz_fail("cannot make an in-memory file");
	read_records(path, delim);
	/* The CBS export names its columns in English. */
	side = memmem(data, size < 256 ? size : 256, "first_names", 11) != NULL ? 1 : 0;
	read_input(path, delim, side);
	close(fd);
	return 0;
}
