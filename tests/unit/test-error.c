/* Error objects, errno -> CNI code mapping, libnl code mapping, context basics. */
#include <netlink/errno.h>

#include "core/internal.h"
#include "tap.h"

static int logged;
static void log_cb(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        (void)ctx;
        (void)prio;
        logged++;
        snprintf(userdata, 128, "%s", msg);
}

int main(void)
{
        podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        char buf[128] = "";
        int r;

        r = pn_error(&err, ENOENT, 0, "Opening %s", "/run/netns/p1");
        is_int(r, -ENOENT, "pn_error returns -errno");
        is_str(podnet_error_message(err), "Opening /run/netns/p1: No such file or directory",
               "message gets strerror suffix");
        is_int(podnet_error_errno(err), ENOENT, "errno kept positive");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_NETLINK, "default CNI code for ENOENT");
        r = pn_error(&err, EINVAL, 7, "Second");
        is_str(podnet_error_message(err), "Opening /run/netns/p1: No such file or directory",
               "a later error does not overwrite the first");
        pn_error_wrap(&err, "Adding pod %s", "abc");
        is_str(podnet_error_message(err),
               "Adding pod abc: Opening /run/netns/p1: No such file or directory", "wrap prefixes");
        ok(podnet_error_details(err) == NULL, "no details by default");
        pn_error_set_details(&err, "more");
        is_str(podnet_error_details(err), "more", "details set");
        err = podnet_error_free(err);
        ok(err == NULL, "free returns NULL");
        ok(podnet_error_free(NULL) == NULL, "free accepts NULL");

        r = pn_error_plain(&err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                           "Key \"mtu\" must be a number");
        is_int(r, -EINVAL, "plain returns -errno");
        is_str(podnet_error_message(err), "Key \"mtu\" must be a number", "plain has no suffix");
        is_int(podnet_error_cni_code(err), 7, "explicit CNI code kept");
        podnet_error_free(err);
        err = NULL;

        ok(podnet_error_new(&err, EAGAIN, 0, "Busy %d", 1) == 0 && err, "podnet_error_new");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_TRY_AGAIN, "EAGAIN maps to 11");
        podnet_error_free(err);
        err = NULL;

        /* Transient errors are code 11, also over a code that only names the step. */
        static const int transient[] = {EAGAIN, EBUSY, EINTR, ETIMEDOUT, ENOBUFS, ENFILE};
        static const int step_codes[] = {0, PODNET_CNI_ERR_IO, PODNET_CNI_ERR_NETLINK,
                                         PODNET_CNI_ERR_FIREWALL, PODNET_CNI_ERR_INTERNAL};
        for (size_t i = 0; i < ELEMENTSOF(transient); i++)
                for (size_t j = 0; j < ELEMENTSOF(step_codes); j++) {
                        pn_error(&err, transient[i], step_codes[j], "Step");
                        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_TRY_AGAIN,
                               "transient errno over a step code is 11");
                        err = podnet_error_free(err);
                }
        pn_error(&err, ENOBUFS, PODNET_CNI_ERR_IFACE_EXISTS, "Exists");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_IFACE_EXISTS,
               "a code that says what is wrong stays");
        err = podnet_error_free(err);
        pn_error(&err, EAGAIN, PODNET_CNI_ERR_NOT_AVAILABLE, "Status");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_NOT_AVAILABLE, "STATUS's 50 stays");
        err = podnet_error_free(err);
        pn_error(&err, ENOMEM, 0, "Alloc");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_INTERNAL, "ENOMEM is 999");
        err = podnet_error_free(err);
        pn_error(&err, EIO, PODNET_CNI_ERR_NETLINK, "Kernel");
        is_int(podnet_error_cni_code(err), PODNET_CNI_ERR_NETLINK, "EIO keeps an explicit 100");
        err = podnet_error_free(err);
        is_int(pn_errno_to_cni(-ENOBUFS), PODNET_CNI_ERR_TRY_AGAIN, "ENOBUFS -> 11");
        is_int(pn_nl_sys_errno(-NLE_NOMEM, ENOBUFS), ENOBUFS,
               "a libnl socket call's own errno wins over NLE_NOMEM");
        is_int(pn_nl_sys_errno(-NLE_NOMEM, 0), ENOMEM, "without one, the NLE code maps");
        ok(pn_error(NULL, EIO, 0, "x") == -EIO, "NULL err pointer is fine");

        is_int(pn_nl_errno(-NLE_EXIST), EEXIST, "NLE_EXIST -> EEXIST");
        is_int(pn_nl_errno(NLE_NODEV), ENODEV, "NLE_NODEV -> ENODEV");
        is_int(pn_nl_errno(-NLE_OBJ_NOTFOUND), ENOENT, "NLE_OBJ_NOTFOUND -> ENOENT");
        is_int(pn_nl_errno(-NLE_PERM), EPERM, "NLE_PERM -> EPERM");
        is_int(pn_nl_errno(-9999), EIO, "unknown -> EIO");

        ok(podnet_ctx_new(&ctx) == 0, "ctx_new");
        is_int(podnet_ctx_get_log_priority(ctx), LOG_ERR, "default priority LOG_ERR");
        podnet_ctx_set_log_fn(ctx, log_cb, buf);
        pn_debug(ctx, "hidden %d", 1);
        is_int(logged, 0, "debug not logged at LOG_ERR");
        podnet_ctx_set_log_priority(ctx, LOG_DEBUG);
        pn_debug(ctx, "shown %d", 2);
        is_int(logged, 1, "debug logged at LOG_DEBUG");
        is_str(buf, "shown 2", "message formatted");
        ok(podnet_ctx_ref(ctx) == ctx, "ref");
        ok(podnet_ctx_unref(ctx) == NULL, "unref (still referenced)");
        ok(podnet_ctx_unref(ctx) == NULL, "unref (freed)");
        ok(podnet_ctx_new(NULL) == -EINVAL, "ctx_new(NULL) rejected");

        ok(podnet_has_feature("ipv6") == 1, "feature ipv6");
        ok(podnet_has_feature("warp-drive") == 0, "unknown feature");
        ok(podnet_has_feature(NULL) == 0, "NULL feature");
        is_str(podnet_version(), PODNET_VERSION_STRING, "runtime version matches header");
        return done_testing();
}
