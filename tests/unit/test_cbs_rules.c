/*
 * test_cbs_rules.c - which message the CBS node accepts in which state
 * (party_cbs/dispatch.c), without sockets.
 *
 * Every body an envelope can carry is put to a session in every state of
 * every mode through cbs_gate, and the verdict is compared with the
 * protocol as written down here by hand (allowed, or the Error code), an
 * expectation kept apart from the rule table it checks.  Then the state
 * table in docs/protocol.md is compared with the rule table, so the
 * document cannot drift from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbs.h"
#include "spec.h"

#define A (1u << UDC__ERROR_CODE__ERR_NONE)

/* The protocol, by hand: the states a request is allowed in, per mode. */
struct expect {
	Udc__Envelope__BodyCase body;
	int phase;
	const char *states[UDC_MODE_COMBINED + 1]; /* space-separated, per mode; "" none */
};

static const struct expect allowed[] = {
	{ UDC__ENVELOPE__BODY_L_CHUNK, 0, { "", "link", "link" } },
	{ UDC__ENVELOPE__BODY_FETCH, 1, { "", "", "link" } },
	{ UDC__ENVELOPE__BODY_X_CHUNK, 0, { "", "", "link" } },
	{ UDC__ENVELOPE__BODY_G_CHUNK, 0, { "upload", "upload", "upload" } },
	{ UDC__ENVELOPE__BODY_STATUS, 0,
	    { "consent link upload return counted deliver done",
	      "consent link upload return counted deliver done",
	      "consent link upload return counted deliver done" } },
	{ UDC__ENVELOPE__BODY_FETCH, 0, { "upload", "upload", "upload" } },
	{ UDC__ENVELOPE__BODY_R_CHUNK, 0, { "upload return", "upload return", "upload return" } },
	{ UDC__ENVELOPE__BODY_FINISH, 0, { "return counted", "return counted", "return counted" } },
	{ UDC__ENVELOPE__BODY_SEAL, 0,
	    { "counted deliver done", "counted deliver done", "counted deliver done" } },
	{ UDC__ENVELOPE__BODY_FETCH, 2, { "deliver done", "deliver done", "deliver done" } },
	{ UDC__ENVELOPE__BODY_DELIVERED, 0, { "deliver done", "deliver done", "deliver done" } },
	{ UDC__ENVELOPE__BODY_ABORT, 0,
	    { "consent link upload return counted deliver done failed",
	      "consent link upload return counted deliver done failed",
	      "consent link upload return counted deliver done failed" } },
};

static int
listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* The verdict the protocol calls for. */
static Udc__ErrorCode
expected(Udc__Envelope__BodyCase body, uint32_t phase, enum sess_state st, int mode)
{
	if (st == SS_FAILED && body != UDC__ENVELOPE__BODY_ABORT)
		return UDC__ERROR_CODE__ERR_FAILED;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i].body != body || (body == UDC__ENVELOPE__BODY_FETCH &&
		    (uint32_t)allowed[i].phase != phase))
			continue;
		return listed(allowed[i].states[mode], cbs_state_name(st)) ? UDC__ERROR_CODE__ERR_NONE :
		    UDC__ERROR_CODE__ERR_STATE;
	}
	return UDC__ERROR_CODE__ERR_MALFORMED; /* not a request (or no such fetch phase) */
}

static void
test_every_message_in_every_state(void **state)
{
	const ProtobufCMessageDescriptor *d = &udc__envelope__descriptor;
	struct udc_spec spec;
	struct session s;
	size_t checked = 0, nbodies = 0;

	(void)state;
	memset(&spec, 0, sizeof(spec));
	memset(&s, 0, sizeof(s));
	s.spec = &spec;
	snprintf(s.error, sizeof(s.error), "an earlier failure");
	for (unsigned f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue; /* not a body */
		nbodies++;
		for (uint32_t phase = 0; phase < 4; phase++) {
			if (phase > 0 && fd->id != UDC__ENVELOPE__BODY_FETCH)
				break;
			for (int mode = 0; mode <= UDC_MODE_COMBINED; mode++) {
				spec.mode = (enum udc_mode)mode;
				for (int st = 0; st < SS_NSTATES; st++) {
					Udc__Envelope req = UDC__ENVELOPE__INIT;
					Udc__Fetch fetch = UDC__FETCH__INIT;
					struct cbs_reply rp;
					const struct cbs_rule *r;
					Udc__ErrorCode want, got;

					req.body_case = (Udc__Envelope__BodyCase)fd->id;
					fetch.phase = phase;
					req.fetch = &fetch; /* read only when the body is a fetch */
					s.state = (enum sess_state)st;
					cbs_reply_init(&rp, &req);
					r = cbs_gate(&s, &req, &rp);
					got = r ? UDC__ERROR_CODE__ERR_NONE : (Udc__ErrorCode)rp.error.code;
					want = expected(req.body_case, phase, s.state, mode);
					if (got != want)
						fail_msg("%s (phase %u) in state %s of mode %d: got %d, want %d (%s)",
						    fd->name, phase, cbs_state_name(s.state), mode, got, want,
						    r ? "allowed" : rp.reason);
					if (r == NULL) {
						/* a refusal always has a reason that names what was refused */
						assert_true(rp.env.body_case == UDC__ENVELOPE__BODY_ERROR);
						assert_true(rp.reason[0] != '\0');
					} else {
						assert_non_null(r->fn);
					}
					checked++;
				}
			}
		}
	}
	/* every body (fetch in four phases, the last not one), 3 modes, every state */
	assert_true(nbodies >= 18);
	assert_int_equal(checked, (nbodies + 3) * 3 * SS_NSTATES);
	printf("checked %zu (message, mode, state) verdicts\n", checked);
}

/* docs/protocol.md carries the rule table between two markers; it must be
 * exactly what the code's table says. */
static void
append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char line[1024];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, line, (size_t)n + 1);
	*len += (size_t)n;
}

static char *
rules_as_markdown(void)
{
	static const char *const modes[] = { "exact", "fuzzy", "combined" };
	char *b = NULL;
	size_t n = 0;

	append(&b, &n, "| message | allowed in states | modes | what it does |\n");
	append(&b, &n, "|---|---|---|---|\n");
	for (size_t i = 0; i < cbs_nrules; i++) {
		const struct cbs_rule *r = &cbs_rules[i];
		char st[256] = "", md[64] = "";
		for (int k = 0; k < SS_NSTATES; k++)
			if (r->states & SS_BIT(k))
				snprintf(st + strlen(st), sizeof(st) - strlen(st), "%s%s", st[0] ? ", " : "",
				    cbs_state_name((enum sess_state)k));
		if (r->modes == CBS_ALL_MODES)
			snprintf(md, sizeof(md), "all");
		else
			for (int k = 0; k < 3; k++)
				if (r->modes & CBS_MODE_BIT(k))
					snprintf(md + strlen(md), sizeof(md) - strlen(md), "%s%s", md[0] ? ", " : "",
					    modes[k]);
		append(&b, &n, "| %s%s | %s | %s | %s |\n", udc_wire_body_name(r->body),
		    r->body != UDC__ENVELOPE__BODY_FETCH ? ""
		    : r->phase == 2 ? " (phase 2)" : r->phase == 1 ? " (phase 1)" : " (phase 0)",
		    st, md, r->what);
	}
	return b;
}

static void
test_protocol_doc_matches(void **state)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	char path[4096], *text, *a, *b, *want;
	FILE *f;
	long len;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/docs/protocol.md", src);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_non_null(a = strstr(text, "<!-- cbs-rules: begin -->\n"));
	a += strlen("<!-- cbs-rules: begin -->\n");
	assert_non_null(b = strstr(a, "<!-- cbs-rules: end -->"));
	*b = '\0';
	want = rules_as_markdown();
	if (strcmp(a, want) != 0) {
		printf("docs/protocol.md's state table should read:\n%s", want);
		fail_msg("docs/protocol.md's state table differs from party_cbs/dispatch.c");
	}
	free(want);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_message_in_every_state),
	    cmocka_unit_test(test_protocol_doc_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
