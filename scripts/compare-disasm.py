#!/usr/bin/env python3
"""Compare the machine code of two kernel builds, function by function.

For the series' claims of "no functional change": the objects of the base's
build and of the tip's (two build directories of one architecture and
configuration) are disassembled with the architecture's objdump, each
function's instructions are normalised (addresses, the offsets of branch
targets within a function and the addends of references to string and
read-only data, where file-name strings and the layout of such sections
show up) and the functions that differ are listed.
"""
import argparse
import collections
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys

EPILOG = """Each function is named OBJECT:SECTION:SYMBOL (the section tells apart
the static functions of one name).  Instructions are compared with their
relocations (objdump -dr), so a call to another function is compared by
the callee's name, not by an address.  What is normalised:
  - the address of each instruction and of each branch target;
  - a branch target inside the same function, as its offset (kept: a
    changed branch structure is a difference) rather than its address;
  - a reference into a string or read-only data section (.rodata*,
    .str*): as the object it falls in and the offset in that object
    (o1+0x10), from the object's symbol table, so that where the object
    lies in the section (layout) does not count and which field is
    referenced does; without a symbol there (strings, where __FILE__
    shows up, and the compiler's constants), as the section alone.  On
    arm64 that covers the add that puts an object's offset on a
    section's base (section anchors: adrp, add :lo12:.rodata, add #off),
    tracked while the register is known to hold the base;
  - the alignment padding after a function (nops, int3, zero words),
    which moves with the size of the functions before it.
Immediates stay as they are: a __LINE__ passed to a function (WARN,
might_sleep) that moved to another line is a difference, to be explained.

A function that is in another object in the new build (a global function
moved to another file) is compared there: it is the only one of its
section and name that left an object, and the only one that came into
another.  It is listed as "moved" when its code is the same (not a
difference), as "differs" otherwise.

Output: one line per function that differs ("differs"), moved ("moved"),
is only in the old build ("gone") or only in the new one ("new"), then a
summary line.
Exit codes: 0 the same code, 1 differences, 2 bad usage, 3 an objdump
failed or is missing."""

OBJDUMP = {"arm64": "aarch64-linux-gnu-objdump", "s390": "s390x-linux-gnu-objdump",
           "x86_64": "objdump", "riscv": "riscv64-linux-gnu-objdump",
           "powerpc": "powerpc64le-linux-gnu-objdump", "mips": "mips-linux-gnu-objdump"}

SECTION = re.compile(r"^Disassembly of section (\S+):$")
SYMBOL = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN = re.compile(r"^\s*[0-9a-f]+:\s*(.*)$")
TARGET = re.compile(r"\b[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>")
DATA_ADDEND = re.compile(r"((?:\.rodata|\.str|\.data\.rel\.ro)[\w.]*)([+-]0x[0-9a-f]+)?\b")
# The bias of the addend of PC-relative relocations (the displacement
# ends the instruction on x86; larl and friends count from the
# instruction's start in halfwords on s390).
PC_BIAS = {"R_X86_64_PC32": 4, "R_X86_64_PLT32": 4, "R_X86_64_GOTPCREL": 4,
           "R_390_PC32DBL": -2, "R_390_PC16DBL": -2}
SYMTAB = re.compile(r"^([0-9a-f]+) [^\t]{6}O (\S+)\t([0-9a-f]+) (\S+)$")
# arm64 builds the address of data from a section base: adrp and an add
# with R_AARCH64_ADD_ABS_LO12_NC against the section, then often a second
# add (or a load) with the object's offset in the section as an immediate.
# That offset is layout, like an addend: while a register holds the base of
# a data section, the immediate of an add from it is normalised (not that
# of a load from it, which also holds the offset of the field read).
A64_BASE_RELOC = re.compile(r"^R_AARCH64_ADD_ABS_LO12_NC ((?:\.rodata|\.str|\.data\.rel\.ro)[\w.]*)([+-]0x[0-9a-f]+)?$")
A64_REG = re.compile(r"\b([xw]\d+)\b")
A64_ADD_IMM = re.compile(r"^add ([xw]\d+), ([xw]\d+), #(0x[0-9a-f]+)$")


# The alignment padding after a function: it depends on where the function
# starts, so on the size of the ones before it.
PADDING = re.compile(r"^(nop\w*( .*)?|xchg %ax,%ax|data16 .*|cs nopw .*|int3|udf .*|\.inst 0x0+( .*)?|\.(long|word) 0x0+|\(bad\))$")


# The arm64 instructions whose effect on registers is known: they write
# their first operand only (two for the load pairs, below), or nothing.
# Anything else (a call, which may change x0-x18 and x30, a branch, an
# atomic, a system instruction) ends every base: normalising after it
# could hide a real change.
A64_WRITE_FIRST = re.compile(r"^(mov[kzn]?|adds?|subs?|ands?|orr|orn|eor|eon|bics?|lsl|lsr|asr|ror|mul|madd|msub|mneg|[su]mull|[su]mulh|[su]div|neg|mvn|[su]bfx|[su]bfiz|bfi|bfxil|[su]xt[bhw]|csel|csinc|csinv|csneg|cset|csetm|cinc|cinv|cneg|adrp?|ldr[bh]?|ldrs[bhw]|ldur[bh]?|ldurs[bhw]|ldar[bh]?|mrs|rev|rev16|rev32|clz|rbit|extr|fmov) ")
A64_WRITE_TWO = re.compile(r"^(ldp|ldnp|ldpsw) ")
A64_WRITE_NONE = re.compile(r"^(st(r|ur|p|np|lr)[bh]?|cmp|cmn|tst|ccmp|ccmn|nop|prfm|hint|bti) ")


def a64_written(text):
    """The registers an arm64 instruction writes (x and w names of each),
    or None if it is not one whose effect is known."""
    t = text + " "
    regs = A64_REG.findall(text)
    if A64_WRITE_NONE.match(t):
        written = set()
    elif A64_WRITE_TWO.match(t):
        written = set(regs[:2])
    elif A64_WRITE_FIRST.match(t):
        written = set(regs[:1])
    else:
        return None
    # A pre- or post-indexed access writes its base register too.
    if "]!" in text or re.search(r"\], ", text):
        m = re.search(r"\[([xw]\d+)", text)
        if m:
            written.add(m.group(1))
    return {v + r[1:] for r in written for v in "xw"}


LOCAL_FUNC = re.compile(r"^[0-9a-f]+ l\s+F \S+\t[0-9a-f]+ (\S+)$")


def local_functions(objdump, path):
    """The names of the object's local (static) functions."""
    r = subprocess.run([objdump, "-t", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return {m.group(1) for m in map(LOCAL_FUNC.match, r.stdout.decode(errors="replace").split("\n")) if m}


def data_symbols(objdump, path):
    """{section: [(address, size, name)]} of the object's data symbols."""
    r = subprocess.run([objdump, "-t", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    syms = collections.defaultdict(list)
    for line in r.stdout.decode(errors="replace").split("\n"):
        m = SYMTAB.match(line)
        if m and m.group(2) != "*ABS*":
            syms[m.group(2)].append((int(m.group(1), 16), int(m.group(3), 16), m.group(4)))
    return syms


def functions(objdump, path):
    """{(section, symbol): [normalised lines]} of one object."""
    r = subprocess.run([objdump, "-dr", "--no-show-raw-insn", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("%s -dr %s: %s" % (objdump, path, r.stderr.decode(errors="replace").strip()[-300:]))
    syms = data_symbols(objdump, path)

    def data(sec, off):
        # A reference into a data section, by the object it falls in:
        # where the object lies in the section is layout, which field of
        # it is read is not.  Without a symbol there (strings, the
        # compiler's constants) the section alone.
        for addr, size, name in syms.get(sec, ()):
            if addr <= off < addr + max(size, 1):
                return "<%s+0x%x>" % (name, off - addr)
        return sec

    lines = r.stdout.decode(errors="replace").split("\n")
    # Branch targets inside each function: where paths join, a register
    # need not hold what it held on the line before.
    joins = set()
    for line in lines:
        for t in re.finditer(r"\b([0-9a-f]+) <([^>+]+)\+0x[0-9a-f]+>", line):
            joins.add(int(t.group(1), 16))
    out = collections.OrderedDict()
    section, sym, body = None, None, None
    bases = {}
    for line in lines:
        m = SECTION.match(line)
        if m:
            section, sym, body = m.group(1), None, None
            continue
        m = SYMBOL.match(line)
        if m and section:
            sym = m.group(1)
            body = out.setdefault((section, sym), [])
            bases = {}
            continue
        if body is None:
            continue
        m = INSN.match(line)
        if not m:
            continue
        text = m.group(1).strip()
        reloc = text.startswith("R_")
        if not reloc and int(line.split(":", 1)[0], 16) in joins:
            bases = {}
        # Relocation lines ("R_AARCH64_CALL26\tfoo") follow the instruction.
        text = TARGET.sub(lambda t: "<%s%s>" % (t.group(1), t.group(2) or "") if t.group(1) != sym
                          else "<.%s>" % (t.group(2) or "+0x0"), text)
        text = re.sub(r"\s+", " ", text)
        if reloc:
            m = A64_BASE_RELOC.match(text)
            if m and body:
                add = A64_ADD_IMM.match(body[-1])
                if add:
                    bases[add.group(1)] = (m.group(1), int(m.group(2) or "+0x0", 16))
        # Without an addend, the section's base (arm64's anchors).  A
        # PC-relative relocation's addend is biased by where the
        # displacement lies in the instruction.
        bias = PC_BIAS.get(text.split(" ", 1)[0], 0) if reloc else 0
        text = DATA_ADDEND.sub(lambda d: data(d.group(1), int(d.group(2), 16) + bias) if d.group(2) else d.group(1), text)
        if not reloc and bases:
            m = A64_ADD_IMM.match(text)
            if m and m.group(2) in bases:
                sec, off = bases[m.group(2)]
                text = text[:text.rindex("#")] + "#" + data(sec, off + int(text[text.rindex("#") + 1:], 16))
            written = a64_written(text)
            if written is None:
                bases = {}
            else:
                for reg in written:
                    bases.pop(reg, None)
        body.append(text)
    for body in out.values():
        while body and PADDING.match(body[-1]):
            body.pop()
    return out


def objects(root, paths):
    found = set()
    for p in paths or ["."]:
        base = os.path.join(root, p)
        if os.path.isfile(base) and base.endswith(".o"):
            found.add(os.path.relpath(base, root))
            continue
        for dirpath, _, files in os.walk(base):
            for f in files:
                # Kbuild's objects, not the link's intermediates.
                if f.endswith(".o") and not f.endswith((".mod.o", "built-in.o")) and f not in ("vmlinux.o",):
                    found.add(os.path.relpath(os.path.join(dirpath, f), root))
    return found


def digest(lines):
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


CALLEE = re.compile(r"<([^>+.][^>+]*)(?:\+0x[0-9a-f]+)?>|^R_\S+ ([A-Za-z_][\w.]*?)(?:[+-]0x[0-9a-f]+)?$")


def callees(body):
    """The names a function's instructions and relocations refer to."""
    out = set()
    for line in body:
        for m in CALLEE.finditer(line):
            out.add(m.group(1) or m.group(2))
    return out


def differs_in(name, odict, ndict):
    """Whether the function NAME of the old object and that of the new one
    (any section) differ, or only one of them defines it.  False when
    neither does (a function of another object, compared there)."""
    o = [b for (sec, sym), b in odict.items() if sym == name]
    n = [b for (sec, sym), b in ndict.items() if sym == name]
    if not o and not n:
        return False
    return sorted(map(digest, o)) != sorted(map(digest, n))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True, choices=sorted(OBJDUMP), help="the architecture of the builds")
    p.add_argument("--diff", action="store_true", help="print a unified diff of each function that differs")
    p.add_argument("old", help="the old build directory (the base's)")
    p.add_argument("new", help="the new build directory (the tip's)")
    p.add_argument("paths", nargs="*", help="directories or objects to compare, relative to the build directories (default: all)")
    a = p.parse_args()
    for d in (a.old, a.new):
        if not os.path.isdir(d):
            p.error("%s is not a directory" % d)
    objdump = OBJDUMP[a.arch]
    if not shutil.which(objdump):
        print("compare-disasm: %s not found (scripts/setup.sh installs the cross binutils)" % objdump, file=sys.stderr)
        return 3
    old_o, new_o = objects(a.old, a.paths), objects(a.new, a.paths)
    if not old_o and not new_o:
        print("compare-disasm: no object under %s in either build" % " ".join(a.paths or ["."]), file=sys.stderr)
        return 2
    counts = collections.Counter()
    report, gone, new = [], collections.defaultdict(list), collections.defaultdict(list)
    for obj in sorted(old_o | new_o):
        try:
            fo = functions(objdump, os.path.join(a.old, obj)) if obj in old_o else {}
            fn = functions(objdump, os.path.join(a.new, obj)) if obj in new_o else {}
        except RuntimeError as e:
            print("compare-disasm: %s" % e, file=sys.stderr)
            return 3
        for key in list(fo) + [k for k in fn if k not in fo]:
            name = "%s:%s:%s" % (obj, key[0], key[1])
            counts["functions"] += 1
            if key not in fn:
                gone[key].append((name, fo[key], (fo, os.path.join(a.old, obj))))
            elif key not in fo:
                new[key].append((name, fn[key], (fn, os.path.join(a.new, obj))))
            elif digest(fo[key]) != digest(fn[key]):
                report.append((name, "differs %s (%d instructions before, %d after)" % (name, len(fo[key]), len(fn[key])), fo[key], fn[key]))
                counts["differs"] += 1
            else:
                counts["same"] += 1
    # A function that left one object and is in another one, the only one
    # of its section and name on each side (a global function moved to
    # another file: arch/arm64/kvm/ to virt/kvm/arm64/), is compared with
    # itself there.  It counts once.
    for key in sorted(set(gone) | set(new)):
        if len(gone.get(key, ())) == 1 and len(new.get(key, ())) == 1:
            (oname, ol, odict), (nname, nl, ndict) = gone.pop(key)[0], new.pop(key)[0]
            counts["functions"] -= 1
            # Calls are compared by the callee's name: a static callee (a
            # helper that moved with it, or one of the same name that was
            # there) must have the same code in both objects too.
            local = local_functions(objdump, odict[1]) | local_functions(objdump, ndict[1])
            other = sorted(c for c in callees(ol) if c in local and differs_in(c, odict[0], ndict[0]))
            if digest(ol) == digest(nl) and other:
                report.append((nname, "differs %s (moved from %s; the same instructions, but its callee %s in the object is another)" % (nname, oname, ", ".join(other)), ol, nl))
                counts["differs"] += 1
            elif digest(ol) == digest(nl):
                report.append((nname, "moved %s from %s, the same code" % (nname, oname), None, None))
                counts["moved"] += 1
            else:
                report.append((nname, "differs %s (moved from %s; %d instructions before, %d after)" % (nname, oname, len(ol), len(nl)), ol, nl))
                counts["differs"] += 1
    for key, fs in gone.items():
        for name, _, _ in fs:
            report.append((name, "gone %s" % name, None, None))
            counts["gone"] += 1
    for key, fs in new.items():
        for name, _, _ in fs:
            report.append((name, "new %s" % name, None, None))
            counts["new"] += 1
    for name, line, ol, nl in sorted(report, key=lambda r: r[0]):
        print(line)
        if a.diff and ol is not None:
            sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(ol, nl, "old", "new", lineterm="", n=2))
    print("compare-disasm: %d objects, %d functions: %d the same, %d differ, %d gone, %d new; %d of the same moved to another object"
          % (len(old_o | new_o), counts["functions"], counts["same"] + counts["moved"], counts["differs"], counts["gone"], counts["new"], counts["moved"]))
    return 1 if counts["differs"] or counts["gone"] or counts["new"] else 0

if __name__ == "__main__":
    sys.exit(main())
