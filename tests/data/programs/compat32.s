# A 32-bit (i386) program making raw int 0x80 syscalls: getpid, getppid, exit_group(3).
# Built with `as --32` and `ld -m elf_i386` (no 32-bit libc needed).
.globl _start
_start:
    mov $20, %eax      # i386 getpid
    int $0x80
    mov $64, %eax      # i386 getppid
    int $0x80
    mov $252, %eax     # i386 exit_group
    mov $3, %ebx
    int $0x80
