; cpu_models.asm — what a CPU model reports and what it executes (run once per `--cpu`
; model by frontend/tests/test_roms.rs).
;
; Prints the CPUID identity on the debug console (vendor, leaf 1, the brand string when
; the extended leaves reach 80000004h), then executes one instruction of each extension
; that a CPUID leaf 1 EDX flag announces (SDM Vol. 2A "CPUID", Table 3-11) and prints
; "NAME ok" or "NAME #UD". The ROM checks that the outcome follows the flag: with the flag
; the instruction completes (SYSENTER with IA32_SYSENTER_CS = 0 raises #GP(0) instead,
; SDM Vol. 2B "SYSENTER"), without it the instruction raises #UD (vector 6).
; CR4.OSFXSR and CR4.OSXMMEXCPT are set when the model reports FXSR and SSE, as an OS
; that uses SSE does (without OSFXSR every SSE instruction is #UD).
;
; POST codes:
;   90  CPUID identity printed
;   91  extensions checked against the flags

%include "common.inc"

FXBUF           equ 0x8000              ; 512 bytes, 16-byte aligned, for FXSAVE
DATA            equ 0x9000              ; a 16-byte aligned scratch operand
cpuid1_edx      equ scratch
strbuf          equ scratch + 0x10      ; 49 bytes

FEAT_TSC        equ 1 << 4
FEAT_MSR        equ 1 << 5
FEAT_CX8        equ 1 << 8
FEAT_SEP        equ 1 << 11
FEAT_CMOV       equ 1 << 15
FEAT_CLFSH      equ 1 << 19
FEAT_MMX        equ 1 << 23
FEAT_FXSR       equ 1 << 24
FEAT_SSE        equ 1 << 25
FEAT_SSE2       equ 1 << 26

NONE            equ 0xFFFFFFFF          ; exc_vec when no exception came

; PRINT "text": the text on the debug console.
%macro PRINT 1
        mov esi, %%s
        call puts
        jmp %%e
%%s:    db %1, 0
%%e:
%endmacro

; EXT flag, vector_with_flag, "NAME", instruction: runs the instruction and checks the
; outcome against CPUID.01H:EDX & flag (NONE: the instruction must complete).
%macro EXT 4+
        TRY %%after
        %4
%%after:
        mov dword [exc_armed], 0
        PRINT %3
        mov eax, [exc_vec]
        mov ebx, [cpuid1_edx]
        mov ecx, %1
        mov edx, %2
        call ext_report
%endmacro

        bits 32
rom_main:
        POST 0x90
        ; Vendor: leaf 0 EBX, EDX, ECX.
        xor eax, eax
        cpuid
        mov [strbuf], ebx
        mov [strbuf + 4], edx
        mov [strbuf + 8], ecx
        mov byte [strbuf + 12], 0
        PRINT "vendor "
        mov esi, strbuf
        call puts
        PRINT 10
        ; Leaf 1.
        mov eax, 1
        cpuid
        mov [cpuid1_edx], edx
        push edx
        push ecx
        push ebx
        PRINT "cpuid 1:"
        call space_hex                  ; EAX
        pop eax
        call space_hex                  ; EBX
        pop eax
        call space_hex                  ; ECX
        pop eax
        call space_hex                  ; EDX
        PRINT 10
        ; The brand string, where the extended leaves reach it.
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000004
        jb .no_brand
        mov edi, strbuf
        mov esi, 0x80000002
.brand: mov eax, esi
        cpuid
        mov [edi], eax
        mov [edi + 4], ebx
        mov [edi + 8], ecx
        mov [edi + 12], edx
        add edi, 16
        inc esi
        cmp esi, 0x80000004
        jbe .brand
        mov byte [strbuf + 48], 0
        PRINT "brand "
        mov esi, strbuf
        call puts
        PRINT 10
.no_brand:

        POST 0x91
        ; CR4.OSFXSR with FXSR, CR4.OSXMMEXCPT with SSE (MOV CR4 only where CR4 can
        ; hold them: a 486 has no CR4 at all).
        test dword [cpuid1_edx], FEAT_FXSR
        jz .no_osfxsr
        mov eax, cr4
        or eax, 1 << 9
        test dword [cpuid1_edx], FEAT_SSE
        jz .cr4
        or eax, 1 << 10
.cr4:   mov cr4, eax
.no_osfxsr:
        fninit
        EXT FEAT_TSC, NONE, "RDTSC", rdtsc
        mov ecx, 0x10                   ; IA32_TIME_STAMP_COUNTER
        EXT FEAT_MSR, NONE, "RDMSR", rdmsr
        EXT FEAT_CX8, NONE, "CMPXCHG8B", cmpxchg8b [DATA]
        EXT FEAT_SEP, 13, "SYSENTER", sysenter
        EXT FEAT_CMOV, NONE, "CMOVE", cmove eax, ebx
        fldz
        fldz
        EXT FEAT_CMOV, NONE, "FCMOVB", fcmovb st0, st1
        EXT FEAT_CMOV, NONE, "FUCOMI", fucomi st0, st1
        EXT FEAT_MMX, NONE, "PADDB mm", paddb mm0, mm1
        EXT FEAT_MMX, NONE, "EMMS", emms
        EXT FEAT_FXSR, NONE, "FXSAVE", fxsave [FXBUF]
        EXT FEAT_FXSR, NONE, "FXRSTOR", fxrstor [FXBUF]
        EXT FEAT_SSE, NONE, "XORPS", xorps xmm0, xmm1
        EXT FEAT_SSE, NONE, "STMXCSR", stmxcsr [DATA]
        EXT FEAT_SSE, NONE, "PAVGB mm", pavgb mm0, mm1
        EXT FEAT_SSE, NONE, "SFENCE", sfence
        EXT FEAT_SSE, NONE, "PREFETCHNTA", prefetchnta [DATA]
        EXT FEAT_SSE2, NONE, "PADDQ xmm", paddq xmm0, xmm1
        EXT FEAT_SSE2, NONE, "MOVAPD", movapd xmm0, [DATA]
        EXT FEAT_SSE2, NONE, "PADDQ mm", paddq mm0, mm1
        EXT FEAT_SSE2, NONE, "MFENCE", mfence
        EXT FEAT_SSE2, NONE, "MOVNTI", movnti [DATA], eax
        EXT FEAT_CLFSH, NONE, "CLFLUSH", clflush [DATA]
        DONE

; space_hex: a space and EAX in hex.
space_hex:
        push eax
        mov al, ' '
        out 0xE9, al
        pop eax
        jmp puthex32

; ext_report: EAX = the vector the instruction raised (NONE if none), EBX = CPUID.01H:EDX,
; ECX = the extension's flag, EDX = the outcome expected with the flag. Prints " ok" or
; " #UD"; fails on any other outcome.
ext_report:
        test ebx, ecx
        jz .absent
        cmp eax, edx
        jne .bad
        PRINT {" ok", 10}
        ret
.absent:
        mov edx, 6
        cmp eax, edx
        jne .bad
        PRINT {" #UD", 10}
        ret
.bad:   FAIL ": exception vector (FFFFFFFF: none) does not follow the CPUID flag"

gdt_start:
        GDT_COMMON
gdt_end:

        ROM_END
