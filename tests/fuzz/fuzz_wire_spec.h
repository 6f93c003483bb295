/*
 * fuzz_wire_spec.h - the round spec the wire fuzz target checks messages
 * against, shared with the seed generator so that the seeds have its shape:
 * 2 match keys, 6 gemeente groups (3 wijken x 2), 8 CBS categories (4 x 2).
 */
#ifndef UDC_FUZZ_WIRE_SPEC_H
#define UDC_FUZZ_WIRE_SPEC_H

#define FUZZ_WIRE_SPEC                                                                        \
	"[spec]\n"                                                                            \
	"name = fuzz-wire\n"                                                                  \
	"mode = exact\n"                                                                      \
	"keys = bsn, surname+birth_date+postcode\n"                                           \
	"[gemeente]\n"                                                                        \
	"wijk = WK051801, WK051802, WK051803\n"                                               \
	"ooievaarspas = ja, nee\n"                                                            \
	"[cbs]\n"                                                                             \
	"income_band = 0-100, 100-130, 130-200, 200+\n"                                       \
	"uitkering = ja, nee\n"                                                               \
	"[disclosure]\n"                                                                      \
	"min_cell = 10\n"                                                                     \
	"pad_categories = max\n"

/* Records the simulated proposal announces (session.c: g_expected). */
#define FUZZ_WIRE_G_EXPECTED 1000

#endif
