#include "tb-error.h"

G_DEFINE_QUARK(smmu-testbed-error, tb_error)
