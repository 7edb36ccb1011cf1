/* Built with -g (make unit) for the DWARF of task_dwarf.h's types; see that header. */
#include "task_dwarf.h"

struct task_struct init_task;
#ifdef WITH_PCPU_HOT
struct pcpu_hot pcpu_hot;
#endif
