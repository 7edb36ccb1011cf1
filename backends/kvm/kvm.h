/* The KVM/QEMU backend's exported ops table (see backends/target.h). */
#ifndef UP_KVM_KVM_H
#define UP_KVM_KVM_H

#include "../target.h"

extern const struct up_target_ops up_target_kvm;

#endif
