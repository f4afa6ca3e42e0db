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

// An EL1 vector table: IRQs from the current EL (SPx) go to irq_handler(),
// synchronous exceptions to sync_handler(kind, frame), every other entry
// to unexpected_exception(kind). The frame holds x0..x18, x29, x30 as
// saved (the handler may change them). Install with install_vectors().
    .macro save_and_call fn, kind
    sub sp, sp, #176
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    str x30, [sp, #160]
    mov x0, #\kind
    mov x1, sp
    bl \fn
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x29, [sp, #144]
    ldr x30, [sp, #160]
    add sp, sp, #176
    eret
    .endm

    .balign 2048
vectors:
    .set kind, 0
    .rept 16
    .balign 128
    .if kind == 5
    save_and_call irq_handler, 5
    .elseif kind == 0 || kind == 4 || kind == 8
    save_and_call sync_handler, kind
    .else
    save_and_call unexpected_exception, kind
    .endif
    .set kind, kind + 1
    .endr

    .global install_vectors
install_vectors:
    adr x0, vectors
    msr vbar_el1, x0
    isb
    ret

// void el0_call(void (*fn)(void), uint64_t sp_el0, uint64_t a, uint64_t b):
// runs fn at EL0t with interrupts masked and x2 = a, x3 = b; fn leaves
// through SVC #0xfff, which sync handlers pass to el0_return().
    .global el0_call
el0_call:
    stp x29, x30, [sp, #-96]!
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    ldr x9, =el1_sp_saved
    mov x10, sp
    str x10, [x9]
    msr sp_el0, x1
    msr elr_el1, x0
    mov x9, #0x3c0              // EL0t, DAIF masked
    msr spsr_el1, x9
    isb
    eret
    .global el0_continue
el0_continue:                   // back at EL1h on the saved stack
    ldr x9, =el1_sp_saved
    ldr x10, [x9]
    mov sp, x10
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp x29, x30, [sp], #96
    ret

    .bss
    .balign 8
el1_sp_saved:
    .skip 8
