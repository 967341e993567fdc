# kunit.py --qemu_config for tests/runtime.sh: the s390 kernel it built
# (configs/boot-s390.config).  QEMU's console is the SCLP VT220 one,
# ttysclp0, not the line-mode ttyS0 of kunit.py's own s390 configuration.
from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='s390',
			   kconfig='',
			   qemu_arch='s390x',
			   kernel_path='arch/s390/boot/bzImage',
			   kernel_command_line='console=ttysclp0',
			   extra_qemu_params=['-machine', 's390-ccw-virtio', '-cpu', 'max'])
