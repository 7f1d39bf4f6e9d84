/* pn-timeit: runs one program the way a container runtime runs a CNI plugin (environment
 * inherited, stdin from a file, stdout to a file) and reports its wall time, peak RSS and
 * CPU time. Used by bench/; more precise than timing from the shell. The CPU time (user +
 * system, of the program and the children it waited for) is what the run cost the machine;
 * unlike the wall time it hardly grows while the program waits for a CPU on a busy machine. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void usage(void)
{
        fprintf(stderr, "Usage: pn-timeit [-i STDIN] [-o STDOUT] [-r REPORT] [-t TAG] -- PROGRAM "
                        "[ARG...]\n"
                        "Runs PROGRAM once and appends \"TAG WALL_NS MAXRSS_KB EXIT CPU_NS\" to REPORT\n"
                        "(default: standard error). Exits with PROGRAM's exit status.\n");
}

static long long now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
        const char *in = "/dev/null", *out = "/dev/null", *report = NULL, *tag = "-";
        posix_spawn_file_actions_t fa;
        struct rusage ru;
        long long t0, t1, cpu;
        char line[256];
        int opt, status, r, len, code;
        pid_t pid;

        while ((opt = getopt(argc, argv, "+i:o:r:t:h")) != -1) {
                switch (opt) {
                case 'i':
                        in = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'r':
                        report = optarg;
                        break;
                case 't':
                        tag = optarg;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 125;
                }
        }
        if (optind >= argc) {
                usage();
                return 125;
        }

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        t0 = now_ns();
        r = posix_spawn(&pid, argv[optind], &fa, NULL, argv + optind, environ);
        if (r != 0) {
                fprintf(stderr, "Starting %s: %s\n", argv[optind], strerror(r));
                return 127;
        }
        while (wait4(pid, &status, 0, &ru) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "Waiting for %s: %s\n", argv[optind], strerror(errno));
                        return 125;
                }
        }
        t1 = now_ns();
        posix_spawn_file_actions_destroy(&fa);

        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        cpu = ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
              ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
        len = snprintf(line, sizeof(line), "%s %lld %ld %d %lld\n", tag, t1 - t0, ru.ru_maxrss, code,
                       cpu);
        if (report) {
                /* O_APPEND and one write(2) per line: parallel runs share one report. */
                int fd = open(report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

                if (fd < 0 || write(fd, line, (size_t)len) != len) {
                        fprintf(stderr, "Writing %s: %s\n", report, strerror(errno));
                        return 125;
                }
                close(fd);
        } else {
                fputs(line, stderr);
        }
        return code;
}
