// SPDX-License-Identifier: GPL-2.0-only
/// The VFIO core treats struct kvm as opaque: no <linux/kvm_host.h>.
///
/// Two KVM implementations on one host lay out struct kvm differently;
/// the VFIO core holds a VM through KVM's VM reference file and hands
/// the struct kvm pointer to the drivers (vfio-ap, zPCI, GVT-g), which
/// know which implementation they serve.
///
// prefilter: kvm_host\.h
// Confidence: High
// Options: --no-includes --include-headers

virtual report

@r depends on report@
position p;
@@
#include <linux/kvm_host.h>@p

@script:python depends on r@
p << r.p;
@@
import re
if re.match(r"drivers/vfio/[^/]+$", p[0].file):
    coccilib.report.print_report(p[0], "VFIO core includes <linux/kvm_host.h>")
