// SPDX-License-Identifier: GPL-2.0-only
/// Code outside KVM must not look up KVM symbols by name.
///
/// With more than one KVM implementation loaded (native s390 KVM and arm64
/// KVM on s390), a lookup by name finds one module, not necessarily the one
/// that owns the VM.  Reach KVM through the VM's file instead.
///
// prefilter: symbol_(get|put|request)
// Confidence: High
// Options: --no-includes --include-headers

virtual report

@r depends on report@
identifier fn =~ "^kvm_";
position p;
@@
(
symbol_get@p(fn)
|
symbol_put@p(fn)
|
symbol_request@p(fn)
)

@script:python depends on r@
p << r.p;
fn << r.fn;
@@
f = p[0].file
if not (f.startswith("virt/kvm/") or "/kvm/" in f):
    coccilib.report.print_report(p[0], "KVM symbol %s looked up by name outside KVM" % fn)
