/** Waiting on the kernel's view of processes and sockets: shared with load-tests/. */
export { fdCount, isListening, waitFor, waitForListening } from '../../load-tests/wait-for';
