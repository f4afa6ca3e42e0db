// Entry for the bare-metal test programs: stack, clear BSS, call
// main(dtb), then power off through PSCI SYSTEM_OFF (HVC).
    .section .text.boot
    .global _start
_start:
    mov x19, x0                 // DTB address, if the loader gives one
    ldr x1, =__stack_top
    mov sp, x1
    ldr x1, =__bss_start
    ldr x2, =__bss_end
1:  cmp x1, x2
    b.hs 2f
    str xzr, [x1], #8
    b 1b
2:  mov x0, x19
    bl main
    .global psci_system_off
psci_system_off:
    ldr x0, =0x84000008         // PSCI SYSTEM_OFF
    hvc #0
3:  wfi
    b 3b

// Secondary CPUs enter here through PSCI CPU_ON with x0 = their index:
// a 16 KiB stack each below the boot CPU's, then secondary_main(index).
    .global secondary_entry
secondary_entry:
    ldr x1, =__stack_top
    lsl x2, x0, #14
    sub x1, x1, x2
    mov sp, x1
    bl secondary_main
4:  wfi
    b 4b
