/* Counting live native handles (dg_handles.c): every constructor of a handle Python holds calls
 * dg_handle_made once it succeeded, its free function dg_handle_freed. */
#ifndef DG_HANDLES_H
#define DG_HANDLES_H

void dg_handle_made(void);
void dg_handle_freed(void);

#endif /* DG_HANDLES_H */
