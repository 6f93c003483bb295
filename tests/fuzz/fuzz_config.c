/*
 * fuzz_config.c - the node configuration parser.
 *
 * The input is written to an in-memory file and loaded with udc_config_load
 * exactly as a daemon loads /etc/udclink/gemeente.conf: inih's line reader, the key
 * table, bounds, path resolution and the cross-field rules.  A config that
 * loads is walked (every string, every label mapping) and freed; one that
 * does not must say why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

static void
walk(const struct udc_config *cfg)
{
	const char *s[] = { cfg->path, cfg->name, cfg->state_dir, cfg->control_socket,
		cfg->peer_listen, cfg->peer_connect, cfg->server_name, cfg->ca_file,
		cfg->cert_file, cfg->key_file, cfg->input_file };
	size_t total = 0;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i])
			total += strlen(s[i]);
	for (size_t i = 0; i < cfg->nfields; i++) {
		FUZZ_CHECK(cfg->fields[i].field != NULL && cfg->fields[i].column != NULL);
		FUZZ_CHECK(udc_config_field_column(cfg, cfg->fields[i].field) != NULL);
		total += strlen(cfg->fields[i].column);
	}
	for (size_t i = 0; i < cfg->nallow_invalid; i++)
		total += strlen(cfg->allow_invalid[i]);
	FUZZ_CHECK(cfg->max_invalid >= 0.0 && cfg->max_invalid <= 1.0);
	for (size_t i = 0; i < cfg->nlabels; i++) {
		FUZZ_CHECK(cfg->labels[i].dim != NULL && cfg->labels[i].column != NULL);
		FUZZ_CHECK(udc_config_label_column(cfg, cfg->labels[i].dim) != NULL);
	}
	(void)udc_config_label_column(cfg, "wijk");
	FUZZ_CHECK(cfg->role == UDC_ROLE_GEMEENTE || cfg->role == UDC_ROLE_CBS);
	FUZZ_CHECK(cfg->chunk_records >= 16 && cfg->chunk_records <= 65536);
	FUZZ_CHECK(cfg->max_message >= 64 * 1024 && cfg->max_message <= 64 * 1024 * 1024);
	FUZZ_CHECK(cfg->workers >= 0 && cfg->workers <= 256);
	(void)total;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct udc_config *cfg = NULL;
	char path[64], err[1024] = "";
	int fd, rv;

	if (!quiet) {
		log_setlevel(UDC_LOG_ERR);
		quiet = 1;
	}
	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) < 0)
		fuzz_fail("cannot make an in-memory file");
	rv = udc_config_load(path, &cfg, err, sizeof(err));
	if (rv == 0) {
		FUZZ_CHECK(cfg != NULL);
		walk(cfg);
		udc_config_free(cfg);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	close(fd);
	return 0;
}
