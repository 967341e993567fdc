#!/usr/bin/env bash
# Forecast what verify-bisect (and so CI) costs for a series, from what the
# last run measured and from the fan-out of each patch's files in the builds.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--plan FILE] [--report FILE] [--fixed SECONDS] [--limit MINUTES]
       [--tier ci] [--cpp-ratio R]

Forecast the time of scripts/verify-bisect.sh for a planned series, and of
a CI run with it, on this machine.  The model, step by step:

  builds    for each architecture with a build directory in KSA_OUT
            (ARCH-kvm, left by verify-bisect): the objects a step rebuilds
            are those whose Kbuild dependency file (.cmd) names one of the
            step's files, plus one for each new C file the architecture
            builds; a Makefile, Kbuild or Kconfig file counts as every object
            of its directory.  A step that reaches no object of an
            architecture costs nothing there (verify-bisect reports it as
            "unchanged inputs").  Otherwise it costs the smallest measured
            incremental build of that architecture (Kbuild's walk, the link)
            plus the objects times the full build's seconds per object.  A
            "+config:ARCH" adds a configuration: one full build of ARCH, then
            ARCH's step cost twice.
  checks    checkpatch at every step; kernel-doc and Coccinelle at steps
            with a C file or header; the headers check at steps with a UAPI
            file; the clients' header scripts at the steps that touch what
            they read, and once on the base; the machine-code and
            generated-header comparisons at steps that build arm64 (or
            s390): each its mean measured time where it ran; the Coccinelle
            run over the whole base once.
  the rest  --fixed SECONDS: every other suite of tests/run.sh, as measured
            (its summary prints each suite's time), default 0.

With --tier ci, the tier CI runs (verify-bisect.sh --tier ci): an object
that a step recompiles costs gcc's share of the seconds per object, and
sparse's share (from sparse's measured time at the base, kept since
verify-bisect times it) only where the object's own C file is one the step
changes; the other recompiled objects cost sparse's share once, at the tip
(the C=2 pass, counted once each, plus a walk); riscv, powerpc and mips
cost nothing (the tier does not build them); the kernel's Coccinelle
rules run once, at the tip, and cost
their measured time at the tip times the series' C files over those of
the measured series.

A plan line with "=moves" is a header move that keeps the tokens of the
headers' users (verify-bisect's same-tokens check, scripts/same-tokens.py):
on an architecture where it applies (at least $tokens_min targets read the
files; sparse not at every step there) it costs gcc -E on those objects
(--cpp-ratio times gcc's share per object) after the step, and before it
on the objects that the step before did not preprocess (a kept step also
preprocesses the objects of the next one, if that one is kept too),
instead of compiling them, plus a build's walk and links; in the tier
their sparse goes to the tip's pass.

The measured times come from report.json of the last full verify-bisect
run; the plan (default tests/full-series.plan, the 27 patches of the spec)
says what each patch touches (see the comment at its top).

  --plan FILE      the planned series
  --report FILE    report.json to take the times from
                   (default build/verify-report/report.json)
  --fixed SECONDS  the rest of the CI run
  --limit MINUTES  print whether the forecast is within it (default 75)
  --tier ci        forecast CI's tier instead of every check at every step
  --cpp-ratio R    gcc -E's time over a compile's, per object (default
                   $cpp_ratio: same-tokens.py hash on the 912 arm64
                   objects that read asm/sysreg.h took 159 s, against
                   some 711 s of gcc to compile them in a cold base build)

Exit codes: 0 forecast within the limit, 1 over it, 2 bad usage, 3 no
measurements (run scripts/verify-bisect.sh first).
USAGE
}

plan=$KSA_ROOT/tests/full-series.plan
report=$KSA_ROOT/build/verify-report/report.json
fixed=0
limit=75
tier=full
# gcc -E against a full compile per object, and the fan-out from which
# verify-bisect tries the same-tokens check (its TOKENS_MIN).
cpp_ratio=0.22
tokens_min=200
while [ $# -gt 0 ]; do
	case $1 in
	--plan) [ $# -ge 2 ] || usage_error "--plan needs a file"; plan=$2; shift 2 ;;
	--report) [ $# -ge 2 ] || usage_error "--report needs a file"; report=$2; shift 2 ;;
	--fixed) [[ ${2:-} =~ ^[0-9]+$ ]] || usage_error "--fixed needs a number of seconds"; fixed=$2; shift 2 ;;
	--limit) [[ ${2:-} =~ ^[0-9]+$ ]] || usage_error "--limit needs a number of minutes"; limit=$2; shift 2 ;;
	--cpp-ratio) [[ ${2:-} =~ ^0?\.[0-9]+$ ]] || usage_error "--cpp-ratio needs a ratio below 1 (such as 0.2)"; cpp_ratio=$2; shift 2 ;;
	--tier) [ "${2:-}" = ci ] || usage_error "--tier: unknown tier '${2:-}' (known: ci)"; tier=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
[ -f "$plan" ] || usage_error "--plan $plan: no such file"
[ -f "$report" ] || die "$EX_ENV" "$report does not exist: run scripts/verify-bisect.sh first"
need_cmd python3

# The source prefix of the .cmd files: the work tree the builds were made in.
tree=${KSA_VERIFY_TREE:-$KSA_ROOT/build/verify}
KSA_HEADERS_INPUTS=$KSA_HEADERS_INPUTS KSA_CLIENTS_INPUTS=$KSA_CLIENTS_INPUTS python3 - "$plan" "$report" "$KSA_OUT" "$(realpath -m "$tree")" "$fixed" "$limit" "$tier" "$cpp_ratio" "$tokens_min" <<'PY'
import glob, json, os, re, sys
plan_f, report_f, out, tree, fixed, limit, tier = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
cpp_ratio, tokens_min = float(sys.argv[8]), int(sys.argv[9])
ALWAYS, SPARSE = ("x86_64", "arm64", "s390"), ("arm64", "s390")
rep = json.load(open(report_f))
steps = rep["steps"]

def secs(step, check):
    c = step["checks"].get(check)
    return c["seconds"] if c and c["status"] in ("pass", "fail") and c["seconds"] is not None else None

# Per architecture: the objects and, for each file, the objects that read it.
arches = {}
for d in sorted(glob.glob(os.path.join(os.path.realpath(out), "*-kvm"))):
    a = os.path.basename(d)[:-4]
    if tier == "ci" and a not in ALWAYS:
        # Not built in CI's tier (verify-bisect.sh --tier ci).
        print("forecast.sh: %s left out: CI's tier does not build it" % a, file=sys.stderr)
        continue
    base = [secs(s, "build-" + a) for s in steps if s["step"] == 0]
    if not base or base[0] is None:
        continue
    objs, readers, source_of = set(), {}, {}
    for cmd in glob.glob(os.path.join(d, "**", ".*.o.cmd"), recursive=True):
        obj = os.path.relpath(cmd, d)
        text = open(cmd, errors="replace").read()
        if not re.search(r"^source_\S+ := \S+\.c$", text, re.M):
            continue
        if obj.startswith(("scripts/", "tools/")) or "/scripts/" in obj or "/tools/" in obj:
            continue
        objs.add(obj)
        m = re.search(r"^source_\S+ := (\S+\.c)$", text, re.M)
        src = m.group(1)
        if src.startswith("../"):
            src = os.path.normpath(os.path.join(d, src))
        if src.startswith(tree + "/"):
            source_of[obj] = src[len(tree) + 1:]
        for tok in re.split(r"[\s\\]+", text):
            tok = tok.rstrip(":)")
            # Sources absolute or relative to the build directory (ccache's
            # base_dir, lib.sh kmake), generated files relative to it.
            if tok.startswith("../"):
                tok = os.path.normpath(os.path.join(d, tok))
            if tok.startswith(tree + "/"):
                tok = os.path.normpath(tok)[len(tree) + 1:]
            elif tok.startswith("/") or tok.startswith("$(") or "/" not in tok or tok.startswith("-"):
                continue
            readers.setdefault(tok, set()).add(obj)
    if not objs:
        print("forecast.sh: %s left out: %s has no objects (a build directory in the middle of a build?)" % (a, d), file=sys.stderr)
        continue
    incr = [secs(s, "build-" + a) for s in steps if s["step"] > 0]
    incr = [x for x in incr if x is not None]
    b0 = [s for s in steps if s["step"] == 0][0]["checks"].get("build-" + a, {})
    # sparse's CPU time over the jobs (make -j of lib.sh: the cores).
    sp = b0.get("sparse_cpu_seconds")
    if a in SPARSE and tier == "ci" and sp is None:
        sys.exit("forecast.sh: %s has no sparse time for the %s base build: run scripts/verify-bisect.sh again (it times sparse since the CI tier)" % (report_f, a))
    sp_wall = (sp or 0) / (os.cpu_count() or 1)
    arches[a] = {"objs": objs, "readers": readers, "source_of": source_of, "full": base[0],
                 "per_obj": base[0] / max(len(objs), 1), "walk": min(incr) if incr else 25,
                 "per_obj_gcc": (base[0] - sp_wall) / max(len(objs), 1),
                 "per_obj_sparse": sp_wall / max(len(objs), 1), "sparse_wall": sp_wall,
                 "deferred": set(), "hashed": set()}
if not arches:
    sys.exit("forecast.sh: no build directory in %s has a measured base build: run scripts/verify-bisect.sh first" % out)

def mean(check):
    v = [secs(s, check) for s in steps if s["step"] > 0]
    v = [x for x in v if x is not None]
    return sum(v) / len(v) if v else 0
check_cost = {c: mean(c) for c in ("checkpatch", "kernel-doc", "coccinelle", "cocci-kernel", "uapi", "clients", "disasm-arm64", "generated")}
# The kernel's rules at the tip of the measured series (--tier ci), and how
# many C files that series changes.
kc_tip = [secs(s, "cocci-kernel") for s in steps if s["step"] == len(steps) - 1]
kc_tip = kc_tip[0] if kc_tip and kc_tip[0] is not None else None
ev = [s["checks"].get("cocci-kernel", {}).get("evidence", "") for s in steps if s["step"] == len(steps) - 1]
m = re.search(r"\((\d+) C files read\)", ev[0] if ev else "")
measured_cfiles = int(m.group(1)) if m else 1
# The first step's Coccinelle run also reads the whole base once.
first = [secs(s, "coccinelle") for s in steps if s["step"] == 1]
cocci_base = max(0, (first[0] or 0) - check_cost["coccinelle"]) if first else 0
uapi_re = re.compile(os.environ["KSA_HEADERS_INPUTS"])
# What the real clients' header scripts read (scripts/checks/clients.sh).
clients_re = re.compile(os.environ["KSA_CLIENTS_INPUTS"])
build_re = re.compile(r"(^|/)(Makefile[^/]*|Kbuild[^/]*|Kconfig[^/]*)$")

def builds_dir(a, path):
    """Whether the architecture a compiles files in path's directory."""
    if path.startswith("arch/"):
        return path.startswith("arch/%s/" % a)
    if path.startswith("virt/kvm/arm64/"):
        return a == "arm64"
    return True

def reach(a, m, files):
    """The objects of architecture a that a step with these files
    recompiles, whether it changes a build file there, and the objects
    of its own C files."""
    hit, buildsys, own = set(), False, set()
    for f in files:
        if f.startswith(("+config:", "=")):
            continue
        if f.startswith("new:"):
            p = f[4:]
            if p.endswith(".c") and builds_dir(a, p):
                hit.add("new:" + p)
                own.add("new:" + p)
            continue
        hit |= m["readers"].get(f, set())
        if f.endswith(".c"):
            own |= {o for o in m["readers"].get(f, set()) if m["source_of"].get(o) == f}
        if build_re.search(f) and builds_dir(a, f):
            buildsys = True
            d = os.path.dirname(f)
            hit |= {o for o in m["objs"] if os.path.dirname(o).startswith(d)}
    return hit, buildsys, own

def keeps(a, files, hit, buildsys):
    """Whether verify-bisect's same-tokens check applies to the step on a."""
    return ("=moves" in files and not buildsys and (tier == "ci" or a not in SPARSE)
            and len(hit) >= tokens_min and not any(f.startswith("new:") and f.endswith(".c") for f in files))

plan_rows = []
for line in open(plan_f):
    line = line.split("#", 1)[0].split()
    if line:
        plan_rows.append((line[0], line[1:]))
last = len(plan_rows) - 1
series_c = set()
rows, total = [], 0
extra = {}          # configurations added by earlier steps: arch -> count
for idx, (n, files) in enumerate(plan_rows):
    row = {"patch": n, "arch": {}, "checks": 0}
    for f in files:
        if f.endswith(".c") and not f.startswith(("+config:", "=")):
            series_c.add(f[4:] if f.startswith("new:") else f)
    for a, m in arches.items():
        hit, buildsys, own = reach(a, m, files)
        touched = bool(hit) or buildsys
        if keeps(a, files, hit, buildsys):
            # Preprocessed before (what the step before did not hash: a
            # header step hashes the next one's targets too) and after;
            # kept, not compiled.
            ahead = set()
            if idx < last:
                nfiles = plan_rows[idx + 1][1]
                nhit, nbuildsys, _ = reach(a, m, nfiles)
                if keeps(a, nfiles, nhit, nbuildsys):
                    ahead = nhit - hit
            before = len(hit - m["hashed"])
            # The build still runs: Kbuild's walk and the links (the kept
            # objects are newer than the archives).
            cost = m["walk"] + (before + len(hit) + len(ahead)) * m["per_obj_gcc"] * cpp_ratio
            if a in SPARSE:
                m["deferred"] |= hit
            m["hashed"] = hit | ahead
            row["arch"][a] = (len(hit), round(cost * (1 + extra.get(a, 0))))
            continue
        m["hashed"] = set()
        if tier == "ci" and a in SPARSE:
            own &= hit
            m["deferred"] |= hit - own
            cost = m["walk"] + len(hit) * m["per_obj_gcc"] + len(own) * m["per_obj_sparse"] if touched else 0
        else:
            cost = m["walk"] + len(hit) * m["per_obj"] if touched else 0
        cost *= 1 + extra.get(a, 0)
        added = files.count("+config:" + a)
        cost += added * m["full"]
        if tier == "ci" and a in SPARSE and idx == last and m["deferred"]:
            # The sparse pass at the tip: C=2 walks every object.
            cost += m["walk"] + len(m["deferred"]) * m["per_obj_sparse"]
        row["arch"][a] = (len(hit), round(cost))
    for f in files:
        if f.startswith("+config:"):
            a = f.split(":", 1)[1]
            extra[a] = extra.get(a, 0) + 1
    c = check_cost["checkpatch"]
    if any(f.endswith((".c", ".h")) for f in files):
        c += check_cost["kernel-doc"] + check_cost["coccinelle"]
        if tier != "ci" and any(f.endswith(".c") for f in files):
            c += check_cost["cocci-kernel"]
    if any(uapi_re.search(f.replace("new:", "")) for f in files):
        c += check_cost["uapi"]
    if any(clients_re.search(f.replace("new:", "")) for f in files):
        c += check_cost["clients"]
    # The machine-code and generated-header comparisons after each arm64
    # (and s390) build.
    if row["arch"].get("arm64", (0, 0))[1] > 0:
        c += check_cost["disasm-arm64"]
    if row["arch"].get("arm64", (0, 0))[1] > 0 or row["arch"].get("s390", (0, 0))[1] > 0:
        c += check_cost["generated"]
    if tier == "ci" and idx == last:
        if kc_tip is None:
            sys.exit("forecast.sh: %s has no time of the kernel's Coccinelle rules at the tip: run scripts/verify-bisect.sh --tier ci first" % report_f)
        c += kc_tip * max(1, len(series_c)) / max(1, measured_cfiles)
    row["checks"] = round(c)
    total += sum(v[1] for v in row["arch"].values()) + row["checks"]
    rows.append(row)
base_builds = sum(m["full"] for m in arches.values())
apply = 20 + 2 * len(rows)
# The clients' scripts also run once on the base (as long as one step of
# theirs).
verify = base_builds + total + cocci_base + apply + check_cost["clients"]
names = list(arches)
print("| patch | " + " | ".join("%s objs/s" % a for a in names) + " | checks s |")
print("|---|" + "---|" * (len(names) + 1))
for r in rows:
    print("| %s | " % r["patch"] + " | ".join("%d/%d" % r["arch"][a] for a in names) + " | %d |" % r["checks"])
print()
print("measured: full builds " + ", ".join("%s %d s (%d objects, %.2f s each, walk %d s)" % (a, m["full"], len(m["objs"]), m["per_obj"], m["walk"]) for a, m in arches.items()))
print("measured: checks per step " + ", ".join("%s %.0f s" % kv for kv in check_cost.items()) + "; Coccinelle over the base %d s" % cocci_base)
print("forecast: verify-bisect %d s (%.0f min): base builds %d s, steps %d s, applying %d s" % (verify, verify / 60, base_builds, total + cocci_base, apply))
whole = verify + fixed
if tier == "ci":
    print("tier ci: sparse at the tip on %s objects that steps recompile without it" % ", ".join("%s %d" % (a, len(m["deferred"])) for a, m in arches.items() if a in SPARSE)
          + "; sparse's share of a base build: " + ", ".join("%s %d s" % (a, m["sparse_wall"]) for a, m in arches.items() if a in SPARSE)
          + "; the kernel's Coccinelle rules at the tip on %d C files" % len(series_c))
print("forecast (%s): CI run %d s (%.0f min) with %d s for the other suites; limit %d min: %s" % ("tier ci" if tier == "ci" else "every check at every step", whole, whole / 60, fixed, limit, "within" if whole <= limit * 60 else "OVER"))
sys.exit(0 if whole <= limit * 60 else 1)
PY
