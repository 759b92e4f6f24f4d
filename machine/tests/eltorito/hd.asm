; Master boot record of a hard-disk image booted by El Torito hard-disk emulation
; (machine/tests/eltorito.rs; the test adds the partition table): it runs with DL = 80h,
; reads the image through INT 13h, leaves the results at 0600h and stops through port
; F4h. The image's last sector holds "LAST SECTOR".
bits 16
org 0x7C00
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [0x600], dl
    ; AH=08h: the geometry, from the partition table.
    mov ah, 0x08
    mov dl, [0x600]
    int 0x13
    setc [0x601]
    mov [0x602], cx
    mov [0x604], dx
    xor ax, ax
    mov es, ax
    ; AH=02h: cylinder 1, head 15, sector 63 (the last) to 0000:0800.
    mov ax, 0x0201
    mov cx, (1 << 8) | 63
    mov dh, 15
    mov dl, [0x600]
    mov bx, 0x800
    int 0x13
    setc [0x606]
    ; The BIOS data area's fixed-disk count.
    mov al, [0x475]
    mov [0x607], al
    ; AX=4B01h: the specification packet into 0780h.
    mov si, 0x780
    mov ax, 0x4B01
    mov dl, [0x600]
    int 0x13
    setc [0x608]
    mov al, 0
    out 0xF4, al
    hlt
