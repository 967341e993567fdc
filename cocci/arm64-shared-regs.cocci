// SPDX-License-Identifier: GPL-2.0-only
/// Shared arm64 KVM code reaches guest registers only through accessors.
///
/// On s390 the guest general registers live in the SAE control block, not
/// in a struct user_pt_regs, so code in virt/kvm/arm64/ and
/// include/kvm/arm64/ must use vcpu_get_reg()/vcpu_set_reg() and friends
/// instead of vcpu_gp_regs() or the context structure.
///
// prefilter: vcpu_gp_regs|arch\.ctxt
// Confidence: Moderate
// Options: --no-includes --include-headers

virtual report

@r depends on report@
expression v;
position p;
@@
(
vcpu_gp_regs@p(v)
|
v->arch.ctxt@p
)

@script:python depends on r@
p << r.p;
@@
f = p[0].file
if f.startswith("virt/kvm/arm64/") or f.startswith("include/kvm/arm64/"):
    coccilib.report.print_report(p[0], "guest register reached without an accessor in shared arm64 KVM code")
