/* The public header compiles alone, as strict C99, and its symbols link. */
#include <podnet/podnet.h>

#include <stdio.h>

int main(void)
{
        int ok = podnet_version()[0] != '\0';
        printf("%s 1 - podnet.h compiles alone as C99 and links\n1..1\n", ok ? "ok" : "not ok");
        return !ok;
}
