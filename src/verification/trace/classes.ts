/** The work classes an agent may claim and the trace classifier tells apart. */
export const WORK_CLASSES = ['inference', 'mining', 'science', 'streaming', 'polling', 'stress'] as const;
export type WorkClass = (typeof WORK_CLASSES)[number];
