/*
 * boot.s - a boot sector that runs the IFMA check payload in 64-bit mode.
 *
 * For test_group_ifma_emulated (bochs with an Ice Lake CPU model): the BIOS
 * loads this sector at 0x7c00; it reads the payload (PAYLOAD_SECTORS, given
 * with as --defsym, from LBA 1) to 0x10000, maps the first GiB one to one with 2 MiB pages, goes
 * from real mode straight to long mode, enables SSE, AVX and the AVX-512
 * state (CR4.OSXSAVE, XCR0 = x87|SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM), calls
 * the payload's entry at 0x10000 and then asks bochs to quit (the
 * "Shutdown" string on port 0x8900).  Output goes to port 0xe9.
 */
	.intel_syntax noprefix
	.code16
	.section .text
	.globl _start
_start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	mov [boot_drive], dl

	/* the payload, 64 sectors (32 KiB) per BIOS call */
	mov cx, PAYLOAD_SECTORS / 64
1:	mov si, offset dap
	mov ah, 0x42
	mov dl, [boot_drive]
	push cx
	int 0x13
	pop cx
	jc fail16
	add word ptr [dap_seg], 0x800
	add dword ptr [dap_lba], 64
	loop 1b

	in al, 0x92		/* A20 */
	or al, 2
	out 0x92, al

	/* page tables: PML4 0x1000, PDPT 0x2000, PD 0x3000 */
	xor eax, eax
	mov di, 0x1000
	mov cx, 0x3000 / 4
	rep stosd
	mov dword ptr [0x1000], 0x2003
	mov dword ptr [0x2000], 0x3003
	mov di, 0x3000
	mov eax, 0x83		/* present, writable, 2 MiB */
	mov cx, 512
2:	mov [di], eax
	add eax, 0x200000
	add di, 8
	loop 2b

	lgdt [gdt_desc]
	mov eax, cr4
	or eax, 1 << 5		/* PAE */
	mov cr4, eax
	mov eax, 0x1000
	mov cr3, eax
	mov ecx, 0xc0000080	/* EFER.LME */
	rdmsr
	or eax, 1 << 8
	wrmsr
	mov eax, cr0
	or eax, 0x80000001	/* PG, PE */
	mov cr0, eax
	ljmp 0x08, offset long_mode

fail16:
	mov al, 'E'
	out 0xe9, al
	cli
	hlt

	.code64
long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, 0x800000
	mov rax, cr0
	and ax, 0xfffb		/* no EM */
	or ax, 2		/* MP */
	mov cr0, rax
	mov rax, cr4
	or rax, (1 << 9) | (1 << 10) | (1 << 18)	/* OSFXSR, OSXMMEXCPT, OSXSAVE */
	mov cr4, rax
	xor ecx, ecx
	xor edx, edx
	mov eax, 0xe7
	xsetbv
	mov rax, 0x10000
	call rax
	mov dx, 0x8900
	lea rsi, [rip + shutdown]
	mov ecx, 8
3:	lodsb
	out dx, al
	loop 3b
	cli
	hlt

	.align 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 64-bit code */
	.quad 0x00cf92000000ffff	/* data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
dap:
	.byte 0x10, 0
	.word 64
	.word 0
dap_seg:
	.word 0x1000
dap_lba:
	.quad 1
boot_drive:
	.byte 0
shutdown:
	.ascii "Shutdown"
	.org 510
	.word 0xaa55
