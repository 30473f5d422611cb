/*
 * milter - the libmilter side: the callbacks, and turning a plan into
 * smfi_* calls.  The only file that includes <libmilter/mfapi.h>.
 *
 * Thread: milter_register and milter_run are for the main thread; the
 * callbacks run on libmilter's connection threads.
 */
#ifndef SCANMILTER_MILTER_H
#define SCANMILTER_MILTER_H

struct config;

/*
 * milter_setup - register the filter, set socket and timeouts from cfg and
 * open the socket (removing a stale unix socket).  Returns 0 or -1 (logged).
 */
int	milter_setup(const struct config *cfg);
/* milter_run - smfi_main(): returns when libmilter is told to stop. */
int	milter_run(void);
/* milter_socket_path - the unix socket path of a spec, or NULL. */
const char *milter_socket_path(const char *spec);

#endif
