/*
 * guest.S - the integration tests' "VM": a 512-byte boot sector (GNU as,
 * 16-bit) that SeaBIOS loads at 0x7c00.  It prints a banner on COM1, then
 * on every PIT tick (~18.2 Hz; it halts in between) writes one dword into
 * every 4 KiB page of [2 MiB, 2 MiB + DIRTY_MB MiB).  A live migration
 * therefore has real pages to re-send on every pass, at a rate that still
 * lets it converge, while the guest costs next to no host CPU.
 *
 * It never runs with interrupts enabled in protected mode: the /dev/kvm on
 * the lab host is a software ("PVM") hypervisor whose emulator cannot do a
 * protected-mode IRET.  So it stays in real mode and reaches memory above
 * 1 MiB through "unreal mode": load 4 GiB segment limits in protected mode
 * with interrupts off, switch straight back, keep the cached limits.
 *
 * DIRTY_MB is given at assembly time (as --defsym DIRTY_MB=N; see build.sh).
 */
        .code16
        .text
        .globl _start
_start:
        cli
        ljmp    $0, $1f                 /* CS:IP = 0000:7cxx whatever the BIOS used */
1:      xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7c00, %sp
        cld

        /* A20 on (fast A20 gate), or odd MiBs would alias even ones */
        in      $0x92, %al
        or      $2, %al
        and     $0xfe, %al              /* bit 0 would reset the machine */
        out     %al, $0x92

        /* unreal mode: DS/ES get a 4 GiB limit, then back to real mode */
        lgdtl   gdt_desc
        mov     %cr0, %eax
        or      $1, %al
        mov     %eax, %cr0
        jmp     2f                      /* serialise after entering PM */
2:      mov     $0x08, %bx
        mov     %bx, %ds
        mov     %bx, %es
        and     $0xfe, %al
        mov     %eax, %cr0
        jmp     3f
3:      xor     %ax, %ax                /* real-mode bases; limits stay 4 GiB */
        mov     %ax, %ds
        mov     %ax, %es

        /* our own IRQ0 handler (vector 8), and only IRQ0 unmasked */
        movw    $irq0, 8*4
        movw    $0, 8*4+2
        mov     $0xfe, %al
        out     %al, $0x21
        mov     $0xff, %al
        out     %al, $0xa1

        /* banner on COM1 */
        mov     $banner, %si
        mov     $0x3f8, %dx
4:      lodsb
        test    %al, %al
        jz      5f
        out     %al, %dx
        jmp     4b

5:      mov     $(0x200000 + DIRTY_MB * 0x100000), %esi   /* end of the region */
        xor     %ebx, %ebx                                 /* pass counter */
        sti
tick:   hlt                             /* until the next timer interrupt */
        inc     %ebx
        mov     $0x200000, %edi
6:      cmp     %esi, %edi
        jae     tick
        addr32 mov %ebx, (%edi)         /* 32-bit address: unreal mode at work */
        add     $4096, %edi
        jmp     6b

irq0:   push    %ax                     /* real-mode IRET is fine everywhere */
        mov     $0x20, %al
        out     %al, $0x20              /* EOI to the master PIC */
        pop     %ax
        iret

banner: .asciz  "HVTGUEST READY\r\n"
        .p2align 3
gdt:    .quad   0
        .quad   0x008f92000000ffff      /* 0x08: data, base 0, limit 4 GiB (G=1), 16-bit */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

        . = _start + 510
        .byte   0x55, 0xaa
