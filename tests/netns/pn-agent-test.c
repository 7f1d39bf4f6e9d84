/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program other than podnet-routes running the node agent through the public API alone
 * (linked to libpodnet.so, including only podnet/podnet.h), for tests/netns/routes-agent.sh.
 *
 *   pn-agent-test NODE NODES_FILE CONF sync|status|teardown|run
 *
 * Each pass is printed as "pass KIND error=E changed=C first=F writes=W"; run reads its
 * standard input between runs: a line "resync" asks for a fetch, anything else or end of
 * file stops it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <podnet/podnet.h>

static void log_stderr(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        (void)ctx;
        (void)userdata;
        fprintf(stderr, "pn-agent-test: <%d> %s\n", prio, msg);
}

static void print_pass(podnet_agent *agent, const podnet_agent_pass *p, void *userdata)
{
        static const char *const kinds[] = {"?", "full", "routes", "firewall"};

        (void)agent;
        (void)userdata;
        printf("pass %s error=%d changed=%d first=%d writes=%zu\n", kinds[p->kind & 3], p->error,
               p->changed, p->first, p->report ? podnet_sync_report_writes(p->report) : 0);
        fflush(stdout);
}

int main(int argc, char **argv)
{
        podnet_conflist_config cc = {.size = sizeof(cc), .network = "podnet", .bridge = "cbr0"};
        /* overlay never: routes-agent.sh checks the direct routes of nodes without bridges */
        podnet_agent_config cfg = {
            .size = sizeof(cfg), .conflist = &cc, .on_pass = print_pass, .overlay = "never"};
        podnet_agent_pass pass = {.size = sizeof(pass)};
        podnet_agent_teardown_result t = {.size = sizeof(t)};
        podnet_nodes *nodes = NULL;
        podnet_agent *agent = NULL;
        podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        char *text = NULL, line[64];
        int r = -EINVAL;

        if (argc != 5 || podnet_ctx_new(&ctx) < 0)
                return 2;
        podnet_ctx_set_log_fn(ctx, log_stderr, NULL);
        podnet_ctx_set_log_priority(ctx, LOG_WARNING);
        cfg.node_name = argv[1];
        cfg.nodes_file = argv[2];
        cfg.cni_conf_path = argv[3];
        cfg.fw_interval = 0;
        if (podnet_agent_new(ctx, &cfg, &agent, &err) < 0) {
                fprintf(stderr, "pn-agent-test: %s\n", podnet_error_message(err));
                return 1;
        }
        if (strcmp(argv[4], "sync") == 0) {
                if (podnet_agent_load_nodes(agent, -1, &nodes) == 0) {
                        r = podnet_agent_sync(agent, nodes, &pass);
                        print_pass(agent, &pass, NULL);
                }
        } else if (strcmp(argv[4], "status") == 0) {
                if (podnet_agent_load_nodes(agent, -1, &nodes) == 0 &&
                    (r = podnet_agent_status(agent, nodes, PODNET_AGENT_JSON, &text)) == 0)
                        printf("%s\n", text);
        } else if (strcmp(argv[4], "teardown") == 0) {
                r = podnet_agent_teardown(agent, &t);
                printf("routes=%d firewall=%d conf=%d\n", t.routes, t.firewall, t.conf);
        } else if (strcmp(argv[4], "run") == 0) {
                while ((r = podnet_agent_run(agent, 0, &err)) == 0 &&
                       fgets(line, sizeof(line), stdin) && strcmp(line, "resync\n") == 0)
                        printf("resync %d\n", podnet_agent_resync(agent));
                if (r < 0)
                        fprintf(stderr, "pn-agent-test: %s\n",
                                err ? podnet_error_message(err) : "?");
                printf("stopped\n");
        }
        free(text);
        podnet_nodes_free(nodes);
        podnet_error_free(err);
        podnet_agent_free(agent);
        podnet_ctx_unref(ctx);
        return r < 0 ? 1 : 0;
}
