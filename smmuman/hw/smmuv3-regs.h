/* Arm SMMUv3 registers and fields (SMMUv3 architecture, chapter 6).
 * Named once here; logic never carries a bare register number. */
#ifndef SMMU_SMMUV3_REGS_H
#define SMMU_SMMUV3_REGS_H

#define SMMU_REG_IDR0  0x00
#define SMMU_REG_IDR1  0x04
#define SMMU_REG_IDR5  0x14
#define SMMU_REG_AIDR  0x1c /* architecture revision: 0 = v3.0, 1 = v3.1, ... */

#define SMMU_AIDR_MINOR(v) ((v) & 0xf)

#endif
