# A 32-bit (i386) program without libc, for tests/tests/fidelity.rs: fork, the child exits 3,
# the parent waits, opens /etc/passwd, calls getpid and exits with exit_group(0).
    .globl _start
    .text
_start:
    mov $2, %eax            # fork
    int $0x80
    test %eax, %eax
    jnz parent
    mov $1, %eax            # child: exit(3)
    mov $3, %ebx
    int $0x80
parent:
    mov %eax, %ebx          # waitpid(child, NULL, 0)
    mov $7, %eax
    xor %ecx, %ecx
    xor %edx, %edx
    int $0x80
    mov $5, %eax            # open("/etc/passwd", O_RDONLY)
    mov $path, %ebx
    xor %ecx, %ecx
    int $0x80
    mov $20, %eax           # getpid
    int $0x80
    mov $252, %eax          # exit_group(0)
    xor %ebx, %ebx
    int $0x80
    .data
path:
    .asciz "/etc/passwd"
