/* virtio-pci modern transport (virtio 1.2 section 4.1, no legacy interface):
 * exposes a struct virtio_device as a PCI function on a struct pci_host. */
#ifndef VMM_VIRTIO_VIRTIO_PCI_H
#define VMM_VIRTIO_VIRTIO_PCI_H

#include "devices/pci.h"
#include "devices/virtio/virtio.h"
#include "vmm/event_loop.h"
#include "vmm/memory.h"

/* BAR 4 (64-bit memory, VIRTIO_PCI_BAR_SIZE bytes) layout. */
#define VIRTIO_PCI_BAR            4
#define VIRTIO_PCI_BAR_SIZE       0x8000
#define VIRTIO_PCI_COMMON_OFF     0x0000
#define VIRTIO_PCI_ISR_OFF        0x1000
#define VIRTIO_PCI_DEVICE_OFF     0x2000
#define VIRTIO_PCI_NOTIFY_OFF     0x3000   /* queue i at + 4 * i */
#define VIRTIO_PCI_NOTIFY_MULT    4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF   0x5000
#define VIRTIO_PCI_NO_VECTOR      0xffff

/* Common configuration structure offsets (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT   0x00
#define VIRTIO_PCI_COMMON_DF         0x04
#define VIRTIO_PCI_COMMON_GFSELECT   0x08
#define VIRTIO_PCI_COMMON_GF         0x0c
#define VIRTIO_PCI_COMMON_MSIX       0x10
#define VIRTIO_PCI_COMMON_NUMQ       0x12
#define VIRTIO_PCI_COMMON_STATUS     0x14
#define VIRTIO_PCI_COMMON_CFGGEN     0x15
#define VIRTIO_PCI_COMMON_Q_SELECT   0x16
#define VIRTIO_PCI_COMMON_Q_SIZE     0x18
#define VIRTIO_PCI_COMMON_Q_MSIX     0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE   0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF     0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO   0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI   0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO  0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI  0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO   0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI   0x34
#define VIRTIO_PCI_COMMON_SIZE       0x38

/* virtio_pci_cap cfg_type values (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

struct virtio_pci;

/* Creates the PCI function for vdev (device id 0x1040 + vdev->device_id,
 * revision 1, subsystem 1af4:1100) in slot (-1: first free) of pci, with
 * MSI-X (num_queues + 1 vectors) and INTx. vdev must be filled by the
 * device model and outlive the transport. The transport adds
 * VERSION_1, INDIRECT_DESC and EVENT_IDX to vdev->device_features.
 * loop: when non-NULL and pci has an ioeventfd hook, queue notifications are
 * ioeventfds handled on the loop's thread (call from that thread, before it
 * runs); otherwise they are handled on the vCPU thread that wrote them.
 * Returns 0 or negative errno. */
int virtio_pci_create(struct virtio_pci **out, struct pci_host *pci, int slot,
		      struct virtio_device *vdev, const struct guest_memory *mem,
		      struct event_loop *loop);
void virtio_pci_destroy(struct virtio_pci *vp);

struct pci_device *virtio_pci_pci_device(struct virtio_pci *vp);
/* Current device status byte (tests, diagnostics). */
uint8_t virtio_pci_status(struct virtio_pci *vp);

#endif
