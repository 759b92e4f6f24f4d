; El Torito no-emulation boot image (machine/tests/eltorito.rs): loaded as 4 virtual
; sectors at 07C0:0000 and run at 0000:7C00 with DL = the CD's drive number. It calls
; the CD services of INT 13h and leaves what they returned at 0600h for the test, then
; stops the machine through port F4h.
bits 16
org 0x7C00
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [0x600], dl
    ; AH=41h: EDD installation check.
    mov ah, 0x41
    mov bx, 0x55AA
    mov dl, [0x600]
    int 0x13
    setc [0x601]
    mov [0x602], bx
    mov [0x604], cx
    ; AH=48h: drive parameters into 0700h.
    mov si, 0x700
    mov word [si], 0x1A
    mov ah, 0x48
    mov dl, [0x600]
    int 0x13
    setc [0x606]
    ; AH=42h: block 16 (the primary volume descriptor) to 0000:0800.
    mov si, dap
    mov ah, 0x42
    mov dl, [0x600]
    int 0x13
    setc [0x607]
    ; AX=4B01h: the specification packet into 0780h.
    mov si, 0x780
    mov ax, 0x4B01
    mov dl, [0x600]
    int 0x13
    setc [0x608]
    ; AH=43h: a CD is write-protected.
    mov si, dap
    mov ax, 0x4300
    mov dl, [0x600]
    int 0x13
    setc [0x609]
    mov [0x60A], ah
    ; AH=08h: no CHS geometry for a CD.
    mov ah, 0x08
    mov dl, [0x600]
    int 0x13
    setc [0x60B]
    mov al, 0
    out 0xF4, al
    hlt
dap: db 0x10, 0
    dw 1, 0x0800, 0
    dq 16
    times 2046-($-$$) db 0
    dw 0xBEEF           ; the last word of the four virtual sectors loaded
    times 4096-($-$$) db 0xCC  ; a second block, past the load count
