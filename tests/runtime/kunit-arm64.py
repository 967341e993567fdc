# kunit.py --qemu_config for tests/runtime.sh: the arm64 kernel it built
# (configs/boot-arm64.config), on the machine the selftests run on.
from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='arm64',
			   kconfig='',
			   qemu_arch='aarch64',
			   kernel_path='arch/arm64/boot/Image.gz',
			   kernel_command_line='console=ttyAMA0',
			   extra_qemu_params=['-machine', 'virt,virtualization=on,gic-version=3',
					      '-cpu', 'max,pauth-impdef=on', '-smp', '1'])
