/*
 * A 64 KiB "BIOS" that turns the benchmark QEMU's vCPU into a load
 * generator: it waits for a request in guest RAM, runs it and reports.
 *
 * The request block lives at 0x7000 (written by bench/vfio-bench through
 * the qtest protocol):
 *   0x00 address (32-bit: a BAR address, or a 0xcf8 config address)
 *   0x04 count
 *   0x08 operation: 0 load, 1 store, 2 config read through 0xcf8/0xcfc
 *   0x0c done: the guest copies "go" here when a request is finished
 *   0x10 the last value read
 *   0x14 go: the client bumps it to start a request
 *
 * It runs in real mode with 32-bit addresses: TCG does not enforce
 * real-mode segment limits, so a load through %ebx reaches any 32-bit
 * address without a switch to protected mode.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
    .code16
    .text
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
idle:
    movl 0x7014, %eax
    cmpl 0x700c, %eax
    je idle
    movl 0x7000, %ebx
    movl 0x7004, %ecx
    movl 0x7008, %edx
    cmpl $1, %edx
    je store
    cmpl $2, %edx
    je config
load:
    movl (%ebx), %eax
    decl %ecx
    jnz load
    jmp done
store:
    movl %ecx, (%ebx)
    decl %ecx
    jnz store
    jmp done
config:
    movw $0xcf8, %dx
    movl %ebx, %eax
    outl %eax, %dx
    movw $0xcfc, %dx
    inl %dx, %eax
    decl %ecx
    jnz config
done:
    movl %eax, 0x7010
    movl 0x7014, %eax
    movl %eax, 0x700c
    jmp idle

    /* The reset vector, 16 bytes below 4 GiB: last 16 bytes of the image */
    . = 0xfff0
    ljmp $0xf000, $_start
    . = 0x10000
