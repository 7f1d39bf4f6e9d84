#!/usr/bin/env python3
# A cheap check of contrib/Containerfile without a container runtime: every instruction
# is one a Containerfile has, the first is FROM, each COPY --from names an earlier stage,
# each COPY from the build context names a file or directory that exists, and the
# packages: the build stage installs every library -dev package scripts/deps.sh lists,
# and the runtime stage every package whose library the built programs load (given as
# arguments, from readelf and dpkg on this machine). TAP bodies; exit 1 if one failed.
# Usage: check-containerfile.py CONTAINERFILE CONTEXT_DIR DEPS_SH RUNTIME_PKG...
import re
import shlex
import sys

path, ctx, deps = sys.argv[1:4]
runtime_needed = sys.argv[4:]
KEYWORDS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
            "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    failed += not cond


# logical lines: comments dropped, backslash continuations joined
lines, cur = [], ""
for raw in open(path):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if cur and s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append(cur + s)
    cur = ""
check(cur == "", "no dangling line continuation")
instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else "")
         for l in lines]
bad = [k for k, _ in instr if k not in KEYWORDS]
check(not bad, "every instruction is a Containerfile instruction %s" % (bad or ""))
check(instr and instr[0][0] == "FROM", "the first instruction is FROM")

stages, stage_runs = [], []
for k, a in instr:
    if k == "FROM":
        w = a.split()
        stages.append(w[2].lower() if len(w) >= 3 and w[1].upper() == "AS" else None)
        stage_runs.append("")
    elif k == "RUN":
        stage_runs[-1] += " " + a
    elif k == "COPY":
        w = shlex.split(a)
        opts = [x for x in w if x.startswith("--")]
        srcs = [x for x in w if not x.startswith("--")][:-1]
        frm = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
        if frm:
            check(frm[0].lower() in stages[:-1], "COPY --from=%s names an earlier stage" % frm[0])
        else:
            import os
            for s in srcs:
                check(os.path.exists(os.path.join(ctx, s)), "COPY source %s exists in the context" % s)
check(len(stages) >= 2, "multi-stage: %d stages" % len(stages))

dev = set(re.findall(r"\b(lib[a-z0-9.+-]*-dev)\b", open(deps).read()))
build_pkgs = set(stage_runs[0].split())
missing = sorted(dev - build_pkgs)
check(not missing, "the build stage installs deps.sh's -dev packages %s" % (missing or ""))
runtime_pkgs = set(stage_runs[-1].split())
missing = sorted(set(runtime_needed) - runtime_pkgs)
check(not missing, "the runtime stage installs the packages of every library loaded %s" % (missing or ""))
check(any(k == "USER" and a.split(":")[0] not in ("0", "root") for k, a in instr),
      "the image runs as a non-root user by default")
sys.exit(1 if failed else 0)
