/* control.h - talk to the collector's control socket (collector/
 * alert_control.c): one JSON request, one JSON answer.  The collector
 * records who asked from the socket's peer credentials, so these commands
 * need no key, only the right to open the socket (its group). */
#ifndef HVT_CLI_CONTROL_H
#define HVT_CLI_CONTROL_H

#include <json-c/json.h>

/* getopt_long value of --socket. */
enum { CLI_OPT_SOCKET = 0x120 };

struct cli_control_opts {
	const char *socket;           /* --socket PATH */
	const char *config;           /* -c FILE: [alerting] control_socket or STATE_DIR/control.sock */
};

extern const char cli_control_help[];

/* Send req (owned) and return the answer's object when it says ok (caller
 * puts it); NULL after reporting why (exit code in *rc: CLI_FAILED when
 * the collector refused, CLI_NO_INDEX when it cannot be reached). */
json_object *cli_control(const char *cmd, const struct cli_control_opts *o, json_object *req, int *rc);

#endif
