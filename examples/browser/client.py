# Reads the board, and sets an entry first if given one: python3 examples/browser/client.py PORT [KEY VALUE]
# PORT is the server's TCP port (the page's port + 1): stock multiprocessing speaks TCP, not WebSocket.
# It needs nothing but the standard library: `board` is an ordinary registered typeid.
import json
import os
import sys
from multiprocessing.managers import BaseManager


class BoardManager(BaseManager):
    pass


BoardManager.register('board')

m = BoardManager(('127.0.0.1', int(sys.argv[1])), authkey=os.environ.get('MPM_AUTHKEY', 'board-secret').encode())
m.connect()
board = m.board()
if len(sys.argv) > 2:
    board[sys.argv[2]] = sys.argv[3] if len(sys.argv) > 3 else ''
print('board:', json.dumps(dict(board.items()), sort_keys=True), flush=True)
