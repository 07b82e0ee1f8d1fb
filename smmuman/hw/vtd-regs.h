/* Intel VT-d remapping-unit registers and fields (VT-d spec, chapter 11).
 * Named once here; logic never carries a bare register number. */
#ifndef SMMU_VTD_REGS_H
#define SMMU_VTD_REGS_H

#define VTD_REG_VER   0x000 /* version: major 7:4, minor 3:0 */
#define VTD_REG_CAP   0x008
#define VTD_REG_ECAP  0x010

#define VTD_VER_MAJOR(v) (((v) >> 4) & 0xf)
#define VTD_VER_MINOR(v) ((v) & 0xf)

#endif
