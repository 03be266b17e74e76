/* Marks the functions that replace libc's; everything else stays hidden (-fvisibility=hidden). */
#ifndef SKBOX_PRELOAD_EXPORTED_H
#define SKBOX_PRELOAD_EXPORTED_H

#define SKBOX_EXPORTED __attribute__((visibility("default")))

#endif
