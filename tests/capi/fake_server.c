#include "fake_server.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json_reader.h"

extern char** environ;

#ifndef LLMUX_FAKE_SERVER_PATH
#error "the build passes LLMUX_FAKE_SERVER_PATH (the llmux_fake_server binary)"
#endif

/* Reads up to the first newline (the server prints one JSON line, then serves). */
static int read_line(int fd, char* line, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    const ssize_t got = read(fd, line + n, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  return n > 0 ? 0 : -1;
}

int fake_server_start(fake_server* server) {
  const char* path = getenv("LLMUX_FAKE_SERVER");
  if (!path || !*path) path = LLMUX_FAKE_SERVER_PATH;
  if (access(path, X_OK) != 0) {
    fprintf(stderr, "fake server: %s is not an executable (set LLMUX_FAKE_SERVER or build llmux_fake_server)\n",
            path);
    return -1;
  }
  int to_child[2];
  int from_child[2];
  if (pipe(to_child) != 0) return -1;
  if (pipe(from_child) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, to_child[1]);
  posix_spawn_file_actions_addclose(&actions, from_child[0]);
  char* argv[] = {(char*)path, NULL};
  const int spawned = posix_spawn(&server->pid, path, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(to_child[0]);
  close(from_child[1]);
  if (spawned != 0) {
    fprintf(stderr, "fake server: cannot start %s: %s\n", path, strerror(spawned));
    close(to_child[1]);
    close(from_child[0]);
    return -1;
  }
  server->stdin_fd = to_child[1];

  char line[512];
  const int got_line = read_line(from_child[0], line, sizeof line);
  close(from_child[0]);
  json_value* hello = got_line == 0 ? json_parse(line, strlen(line)) : NULL;
  const char* base_url = json_string_at(hello, "base_url");
  if (!base_url || strlen(base_url) >= sizeof server->base_url) {
    fprintf(stderr, "fake server: unexpected first line from %s: \"%s\"\n", path, got_line == 0 ? line : "");
    json_free(hello);
    fake_server_stop(server);
    return -1;
  }
  strcpy(server->base_url, base_url);
  json_free(hello);
  return 0;
}

void fake_server_stop(fake_server* server) {
  if (server->stdin_fd >= 0) close(server->stdin_fd);
  server->stdin_fd = -1;
  if (server->pid > 0) {
    while (waitpid(server->pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  server->pid = 0;
}
