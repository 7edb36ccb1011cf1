# Rules both EFI test guests share, included by their Makefiles after they set O, CC, CFLAGS,
# ASFLAGS, OBJCOPY, PE_SECTIONS, OBJS, EFI_ARCH (objcopy's efi-app-EFI_ARCH target) and
# BOOT_NAME (the removable-media file name the firmware looks for: BOOTX64.EFI, BOOTAA64.EFI).
# Each Makefile keeps its own rule for $(O)/guest.elf.

all: $(O)/guest.efi $(O)/esp/EFI/BOOT/$(BOOT_NAME)

$(O)/guest.efi: $(O)/guest.elf
	$(OBJCOPY) $(PE_SECTIONS) --target=efi-app-$(EFI_ARCH) $< $@

$(O)/esp/EFI/BOOT/$(BOOT_NAME): $(O)/guest.efi
	mkdir -p $(dir $@)
	cp $< $@

$(O)/%.o: %.c | $(O)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/%.o: %.S | $(O)
	$(CC) $(ASFLAGS) -MMD -MP -c -o $@ $<

$(O):
	mkdir -p $@

clean:
	rm -rf $(O)/guest.elf $(O)/guest.efi $(O)/esp $(OBJS) $(OBJS:.o=.d)

.PHONY: all clean

-include $(OBJS:.o=.d)
