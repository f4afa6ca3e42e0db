// A minimal boot firmware for -bios (linked at 0, the flash): it does what
// UEFI or U-Boot do with QEMU's fw_cfg — reads the kernel's size, loads the
// kernel (FW_CFG_KERNEL_DATA) by DMA to RAM + 0x80000 and enters it with
// x0 = the DTB at the start of RAM. A failed DMA prints "DMA failed".
    .section .text
    .globl _start
_start:
    ldr x1, =0x09020000         // fw_cfg: data +0, selector +8, DMA +16
    mov w2, #0x0800             // select FW_CFG_KERNEL_SIZE (0x0008, big-endian)
    strh w2, [x1, #8]
    ldr w3, [x1]                // the size, little-endian in the item
    ldr x4, =0x40070000         // the DMA request (FWCfgDmaAccess, big-endian fields)
    ldr w5, =0x0011000a         // SELECT | READ, key FW_CFG_KERNEL_DATA (0x11)
    rev w5, w5
    str w5, [x4]
    rev w6, w3
    str w6, [x4, #4]
    ldr x7, =0x40080000
    rev x7, x7
    str x7, [x4, #8]
    dsb sy
    rev x8, x4
    str x8, [x1, #16]           // a 64-bit write of the request's address starts it
    dsb sy
    ldr w9, [x4]
    cbnz w9, fail
    ldr x0, =0x40000000
    ldr x10, =0x40080000
    br x10
fail:
    ldr x1, =0x09000000
    adr x2, msg
1:  ldrb w3, [x2], #1
    cbz w3, 2f
    str w3, [x1]
    b 1b
2:  ldr x0, =0x84000008         // PSCI SYSTEM_OFF
    hvc #0
3:  b 3b
msg: .asciz "DMA failed\n"
