/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Many processes allocating and releasing in one store at the same moment, as kubelet's
 * parallel ADDs and DELs do: the flock must give distinct addresses and lose nothing,
 * leases and attachment index entries alike. */
#include <dirent.h>
#include <sys/wait.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "tap.h"

#define N_PROC 50

static char tmp[] = "/tmp/ipam-concurrent.XXXXXX";

/* In a child: waits for the start signal, allocates (or releases) for container
 * "c<i>" and writes the address (or count) to `out`. Exits 0 on success. */
static int child(int i, int start_fd, int out_fd, bool release)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        _cleanup_cidr_ podnet_cidr *subnet = NULL, *addr = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        char id[16], line[80], c;
        int r;

        snprintf(id, sizeof(id), "c%d", i);
        if (podnet_ipam_open(NULL, &ipam, tmp, "race", NULL) < 0 ||
            podnet_cidr_parse(&subnet, "10.20.0.0/24") < 0 ||
            podnet_ipam_add_range(ipam, 0, subnet, NULL, NULL, NULL, NULL) < 0)
                return 2;
        /* Everyone blocks here until the parent closes the pipe. */
        if (read(start_fd, &c, 1) < 0)
                return 2;
        if (release) {
                r = podnet_ipam_release(ipam, id, "eth0", &err);
                snprintf(line, sizeof(line), "%d\n", r);
        } else {
                r = podnet_ipam_allocate(ipam, 0, id, "eth0", NULL, &addr, NULL, &err);
                if (r >= 0)
                        podnet_cidr_format_addr(addr, line, sizeof(line) - 1);
                else
                        snprintf(line, sizeof(line), "error %d %s", r,
                                 err ? podnet_error_message(err) : "");
                strcat(line, "\n");
        }
        if (write(out_fd, line, strlen(line)) < 0)
                return 2;
        return r < 0;
}

/* Runs N_PROC children at once; fills results[] with their lines. Returns the number
 * that exited 0. */
static int run(bool release, char results[N_PROC][80])
{
        int start[2], out[2], good = 0;
        pid_t pids[N_PROC];
        FILE *f;

        if (pipe(start) < 0 || pipe(out) < 0)
                return -1;
        for (int i = 0; i < N_PROC; i++) {
                pids[i] = fork();
                if (pids[i] < 0)
                        return -1;
                if (pids[i] == 0) {
                        close(start[1]);
                        close(out[0]);
                        _exit(child(i, start[0], out[1], release));
                }
        }
        close(start[0]);
        close(out[1]);
        close(start[1]); /* go */
        f = fdopen(out[0], "r");
        for (int i = 0; i < N_PROC; i++) {
                results[i][0] = '\0';
                if (f && !fgets(results[i], 80, f))
                        break;
                results[i][strcspn(results[i], "\n")] = '\0';
        }
        if (f)
                fclose(f);
        for (int i = 0; i < N_PROC; i++) {
                int st;
                if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
                        good++;
        }
        return good;
}

static int count_leases(void)
{
        char path[128];
        struct dirent *de;
        podnet_cidr ip;
        int n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/race", tmp);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (pn_cidr_parse_into(&ip, de->d_name) == 0)
                        n++;
        closedir(d);
        return n;
}

/* Attachment index entries (and temporary files) in the sidecar directory. */
static int count_index(void)
{
        char path[128];
        struct dirent *de;
        int n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/race/.podnet-boot", tmp);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "attach-", 7) == 0 || streq(de->d_name, "index.tmp") ||
                    streq(de->d_name, "write.tmp"))
                        n++;
        closedir(d);
        return n;
}

static int cmp(const void *a, const void *b)
{
        return strcmp(a, b);
}

int main(void)
{
        static char res[N_PROC][80];
        int distinct = 0, ones = 0;
        char cmd[128];

        if (!mkdtemp(tmp)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        is_int(run(false, res), N_PROC, "%d parallel allocations succeed", N_PROC);
        qsort(res, N_PROC, sizeof(res[0]), cmp);
        for (int i = 0; i < N_PROC; i++) {
                if (strncmp(res[i], "10.20.0.", 8) != 0)
                        diag("unexpected result: %s", res[i]);
                else if (i == 0 || strcmp(res[i], res[i - 1]) != 0)
                        distinct++;
        }
        is_int(distinct, N_PROC, "all addresses distinct");
        is_int(count_leases(), N_PROC, "one lease file each");
        is_int(count_index(), N_PROC, "one index entry each, no temporary file left");

        is_int(run(true, res), N_PROC, "%d parallel releases succeed", N_PROC);
        for (int i = 0; i < N_PROC; i++)
                ones += streq(res[i], "1");
        is_int(ones, N_PROC, "each released exactly one lease");
        is_int(count_leases(), 0, "no lease file left");
        is_int(count_index(), 0, "no index entry left");

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
                diag("cleaning %s failed", tmp);
        return done_testing();
}
