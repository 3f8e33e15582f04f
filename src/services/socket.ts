/**
 * Socket teardown shared by the TCP daemons (powtcp, sky): the part of closing a connection
 * that a flood repeats for every stranger, so it is written once.
 */
import type { Socket } from 'node:net';

/**
 * Destroys `socket` if it has not closed within `graceMs`. The timer goes as soon as the
 * socket closes: holding the socket for the whole grace period would keep every closed
 * connection of a flood alive long enough to reach the old generation of the heap. The timer
 * is unref'd so that a closing daemon does not wait for it.
 */
export function destroyLater(socket: Socket, graceMs: number): void {
  const timer = setTimeout(destroySocket, graceMs, socket);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
