; pm_real.asm — real → protected → real mode transitions, 64 KB real-mode limits and
; unreal mode (Intel SDM Vol. 3A §9.9 "Mode switching", §20.1 "Real-address mode").
;
; POST codes:
;   10  protected mode reached through the common reset code (CR0.PE = 1, CS = 0x08)
;   11  back to real mode the SDM way (§9.9.2): 64 KB segments, CS = F000, PE = 0
;   12  real-mode addressing: linear = selector * 16 + offset
;   13  real-mode limits are 64 KB: offsets beyond FFFF fault (#GP, #SS for SS)
;   14  real → protected again; registers survive both switches
;   15  unreal mode: a 4 GB DS limit loaded in protected mode is kept after the return
;   16  real-mode segment loads change only the base, not the 4 GB limit
;   17  the write made in unreal mode is visible from protected mode
;   18  16-bit protected-mode code segment (D = 0): CALL pushes a 16-bit return address

%include "common.inc"

MARK1           equ 0x200000            ; above 1 MB: only reachable in unreal mode
RM_SP           equ 0x7000

; Real-mode variant of XFAULT: the instruction must raise `vector` (through the IVT)
; with the saved IP pointing at it. Needs SS = 0.
%macro RXFAULT 2+
        mov dword [ss:exc_vec], 0xFFFFFFFF
        mov dword [ss:exc_resume], R(%%resume)
        mov dword [ss:exc_armed], 1
%%insn:
        %2
        FAILN16 "no exception"
%%resume:
        CHECK16 [ss:exc_vec], %1, "exception vector"
        CHECK16 [ss:exc_eip], R(%%insn), "faulting IP"
%endmacro

        bits 32
rom_main:
        ; -- 10: §9.9.1: setting CR0.PE and a far jump to a 32-bit code segment enters
        ;    protected mode with CS = the jump's selector.
        POST 0x10
        mov eax, cr0
        and eax, 1
        CHECK eax, 1, "CR0.PE after entering protected mode"
        xor eax, eax
        mov ax, cs
        CHECK eax, SEL_CODE0, "CS"

        ; Real-mode IVT entries for #SS (12) and #GP (13).
        mov dword [12 * 4], (0xF000 << 16) | R(rm_fault12)
        mov dword [13 * 4], (0xF000 << 16) | R(rm_fault13)

        ; -- 11: §9.9.2: jump to a 64 KB readable code segment, load the data segment
        ;    registers with 64 KB descriptors, LIDT the IVT, clear PE, far jump.
        POST 0x11
        mov ebx, 0x11223344
        mov ecx, 0x55667788
        mov edx, 0x99AABBCC
        mov esi, 0xDDEEFF00
        mov edi, 0x12345678
        mov ebp, 0x9ABCDEF0
        jmp SEL_CODE16:R(pm16_to_real)

        bits 16
pm16_to_real:
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov sp, RM_SP
        lidt [cs:R(ivt_ptr)]
        mov eax, cr0
        and eax, 0xFFFFFFFE
        mov cr0, eax
        jmp 0xF000:R(real1)
real1:
        xor ax, ax
        mov ss, ax
        mov sp, RM_SP
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        ; General registers are not touched by mode switches.
        CHECK16 ebx, 0x11223344, "EBX across PM->RM"
        CHECK16 ecx, 0x55667788, "ECX across PM->RM"
        CHECK16 edx, 0x99AABBCC, "EDX across PM->RM"
        CHECK16 esi, 0xDDEEFF00, "ESI across PM->RM"
        CHECK16 edi, 0x12345678, "EDI across PM->RM"
        CHECK16 ebp, 0x9ABCDEF0, "EBP across PM->RM"
        smsw ax
        and eax, 1
        CHECK16 eax, 0, "CR0.PE in real mode"
        xor eax, eax
        mov ax, cs
        CHECK16 eax, 0xF000, "CS in real mode"
        ; CS base is F0000: a CALL pushes the offset within the ROM.
        call .here
.here:  pop ax
        CHECK16 eax, R(.here), "IP pushed by CALL"

        ; -- 12: §20.1.1: the linear address is selector * 16 + offset.
        POST 0x12
        mov ax, 0x2000
        mov ds, ax
        mov dword [0x0010], 0xA5A55A5A          ; linear 0x20010
        mov ax, 0x2001
        mov es, ax
        mov eax, [es:0x0000]                    ; linear 0x20010 again
        CHECK16 eax, 0xA5A55A5A, "word at 2001:0000 (written at 2000:0010)"
        xor ax, ax
        mov ds, ax
        mov ax, 0x2000
        mov fs, ax
        mov eax, [fs:0x10]
        CHECK16 eax, 0xA5A55A5A, "dword at 2000:0010 through FS"
        xor ax, ax
        mov fs, ax

        ; -- 13: real-mode segments have a 64 KB limit (here: loaded from the 64 KB
        ;    descriptors before PE was cleared). SDM Vol. 2, MOV, "Real-Address Mode
        ;    Exceptions": #GP if an effective address is outside the CS/DS/ES/FS/GS
        ;    limit, #SS if outside the SS limit — including an operand that straddles
        ;    offset FFFF.
        POST 0x13
        mov esi, 0x10000
        RXFAULT 13, mov eax, [es:esi]
        RXFAULT 13, mov ax, [ds:0xFFFF]
        RXFAULT 13, mov eax, [fs:0xFFFE]
        RXFAULT 12, mov ax, [ss:0xFFFF]
        mov ebp, 0x10002
        RXFAULT 12, mov al, [ebp]               ; EBP addresses SS
        ; The last byte below the limit is fine.
        mov al, [ds:0xFFFF]
        mov ax, [ds:0xFFFE]

        ; -- 14: real → protected again (§9.9.1), with the registers kept.
        POST 0x14
        mov ebx, 0x0BADF00D
        mov ecx, 0xFEEDFACE
        lidt [cs:R(idtr_rom)]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:pm_again

        bits 32
pm_again:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK0_TOP
        CHECK ebx, 0x0BADF00D, "EBX across RM->PM"
        CHECK ecx, 0xFEEDFACE, "ECX across RM->PM"
        mov eax, cr0
        and eax, 1
        CHECK eax, 1, "CR0.PE"
        ; The real-mode write at 2000:0010 is at linear 0x20010.
        CHECK [0x20010], 0xA5A55A5A, "linear 0x20010 seen from protected mode"

        ; -- 15: unreal mode. §9.9.2 step 4 loads 64 KB descriptors "to be used in
        ;    real mode"; a segment register not reloaded keeps the descriptor loaded in
        ;    protected mode. Leave DS and FS with the 4 GB flat descriptor, ES/GS/SS with
        ;    64 KB ones.
        POST 0x15
        mov dword [MARK1], 0xC0FFEE11
        mov dword [MARK1 + 4], 0
        mov ax, SEL_DATA16
        mov es, ax
        mov gs, ax
        jmp SEL_CODE16:R(pm16_to_unreal)

        bits 16
pm16_to_unreal:
        mov ax, SEL_DATA16
        mov ss, ax
        mov sp, RM_SP
        lidt [cs:R(ivt_ptr)]
        mov eax, cr0
        and eax, 0xFFFFFFFE
        mov cr0, eax
        jmp 0xF000:R(unreal1)
unreal1:
        xor ax, ax
        mov ss, ax
        mov sp, RM_SP
        ; FS still holds the flat descriptor's base 0 and 4 GB limit.
        mov esi, MARK1
        mov eax, [fs:esi]
        CHECK16 eax, 0xC0FFEE11, "dword at 2 MB through FS in unreal mode"
        ; A real-mode load of DS sets base = 0 and keeps the 4 GB limit.
        xor ax, ax
        mov ds, ax
        mov eax, [esi]
        CHECK16 eax, 0xC0FFEE11, "dword at 2 MB through DS = 0 in unreal mode"
        mov dword [esi + 4], 0x5EA1EA1E
        ; ES and GS were given the 64 KB limit.
        RXFAULT 13, mov eax, [es:esi]
        RXFAULT 13, mov eax, [gs:esi]

        ; -- 16: the base follows the selector (0x1000 → 0x10000), the limit stays 4 GB.
        POST 0x16
        mov ax, 0x1000
        mov ds, ax
        mov eax, [esi - 0x10000]                ; linear 0x10000 + 0x1F0000 = 2 MB
        CHECK16 eax, 0xC0FFEE11, "dword at 1000:1F0000 in unreal mode"
        xor ax, ax
        mov ds, ax

        ; -- 17: back to protected mode; the unreal-mode write landed at 2 MB + 4.
        POST 0x17
        lidt [cs:R(idtr_rom)]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:pm_third

        bits 32
pm_third:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK0_TOP
        CHECK [MARK1 + 4], 0x5EA1EA1E, "the unreal-mode write at 2 MB + 4"

        ; -- 18: a code segment with D = 0 uses 16-bit operands by default (§3.4.5,
        ;    D/B flag): a near CALL pushes 2 bytes, and the return address is the
        ;    offset within the segment (base F0000).
        POST 0x18
        mov ebp, esp
        call SEL_CODE16:R(pm16_code)
        CHECK ebx, 2, "bytes pushed by CALL in a 16-bit code segment"
        CHECK ecx, R(pm16_code.ret), "16-bit return address"
        CHECK esp, ebp, "ESP after the far return"

        DONE

        bits 16
pm16_code:
        mov edx, esp
        call .sub
.ret:   o32 retf
.sub:   mov ebx, edx
        sub ebx, esp
        movzx ecx, word [ss:esp]
        ret

; ---- real-mode #SS / #GP handlers (IVT 12 and 13) ------------------------------------
rm_fault12:
        push word 12
        jmp rm_fault
rm_fault13:
        push word 13
        jmp rm_fault
rm_fault:
        push bp
        mov bp, sp
        push ds
        push eax
        xor ax, ax
        mov ds, ax                      ; real-mode load: base 0, the limit is unchanged
        movzx eax, word [bp + 2]
        mov [exc_vec], eax
        movzx eax, word [bp + 4]
        mov [exc_eip], eax
        cmp dword [exc_armed], 1
        jne .unexpected
        mov dword [exc_armed], 0
        mov ax, [exc_resume]
        mov [bp + 4], ax
        pop eax
        pop ds
        pop bp
        add sp, 2
        iret
.unexpected:
        mov eax, [exc_vec]
        mov edx, [exc_eip]
        FAIL16 "unexpected real-mode exception (got = vector, expected = IP)"

ivt_ptr:
        dw 0x3FF
        dd 0

gdt_start:
        GDT_COMMON
gdt_end:

        ROM_END
