/* Runs build's llmux_fake_server as a child process: started with a stdin
 * pipe, its first stdout line gives the base URL; closing stdin stops it. */
#ifndef LLMUX_TESTS_CAPI_FAKE_SERVER_H_
#define LLMUX_TESTS_CAPI_FAKE_SERVER_H_

#include <sys/types.h>

typedef struct fake_server {
  pid_t pid;
  int stdin_fd;
  char base_url[256]; /* "http://127.0.0.1:<port>/v1" */
} fake_server;

/* Starts the binary named by $LLMUX_FAKE_SERVER, else the one this suite was
 * built with. Returns 0, or -1 after printing why on stderr. */
int fake_server_start(fake_server* server);
/* Closes its stdin and waits for it to exit. */
void fake_server_stop(fake_server* server);

#endif /* LLMUX_TESTS_CAPI_FAKE_SERVER_H_ */
