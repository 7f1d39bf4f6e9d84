// The public header compiles alone as C++ and links from C++ (extern "C" guards).
#include <podnet/podnet.h>

#include <cstdio>

int main()
{
        podnet_ctx *ctx = nullptr;
        bool ok = podnet_ctx_new(&ctx) == 0;
        ctx = podnet_ctx_unref(ctx);
        ok = ok && ctx == nullptr;
        std::printf("%s 1 - podnet.h compiles alone as C++ and links\n1..1\n",
                    ok ? "ok" : "not ok");
        return ok ? 0 : 1;
}
