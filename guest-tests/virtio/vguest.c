/* Out-of-line pieces of the virtio guests' helpers (standalone entry). */
#include "vguest.h"

void vg_exit_c(int code)
{
	vg_exit((uint8_t)code);
}
