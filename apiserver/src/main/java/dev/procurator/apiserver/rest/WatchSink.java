package dev.procurator.apiserver.rest;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;

/**
 * Where a watch's frames go: a chunked HTTP response, or a WebSocket (what fabric8 and client-go
 * try first). Every method is called on the connection's event loop.
 */
interface WatchSink {
  /** Sends the response head, so the client knows the watch is established. */
  void open();

  boolean closed();

  boolean writeQueueFull();

  void drainHandler(Runnable r);

  void closeHandler(Runnable r);

  void write(byte[] frame);

  /** Ends the stream, after {@code lastFrame} when not null. */
  void end(byte[] lastFrame);

  static WatchSink of(HttpServerResponse response) {
    return new WatchSink() {
      @Override
      public void open() {
        response.setChunked(true).setStatusCode(200).putHeader("Content-Type", "application/json");
        response.writeHead();
      }

      @Override
      public boolean closed() {
        return response.closed() || response.ended();
      }

      @Override
      public boolean writeQueueFull() {
        return response.writeQueueFull();
      }

      @Override
      public void drainHandler(Runnable r) {
        response.drainHandler(v -> r.run());
      }

      @Override
      public void closeHandler(Runnable r) {
        response.closeHandler(v -> r.run());
      }

      @Override
      public void write(byte[] frame) {
        response.write(Buffer.buffer(frame));
      }

      @Override
      public void end(byte[] lastFrame) {
        if (!closed()) {
          if (lastFrame != null) {
            response.end(Buffer.buffer(lastFrame));
          } else {
            response.end();
          }
        }
      }
    };
  }

  static WatchSink of(ServerWebSocket ws) {
    return new WatchSink() {
      private boolean closed;

      @Override
      public void open() {
      }

      @Override
      public boolean closed() {
        return closed || ws.isClosed();
      }

      @Override
      public boolean writeQueueFull() {
        return ws.writeQueueFull();
      }

      @Override
      public void drainHandler(Runnable r) {
        ws.drainHandler(v -> r.run());
      }

      @Override
      public void closeHandler(Runnable r) {
        ws.closeHandler(v -> {
          closed = true;
          r.run();
        });
      }

      @Override
      public void write(byte[] frame) {
        ws.writeTextMessage(new String(frame, java.nio.charset.StandardCharsets.UTF_8).stripTrailing());
      }

      @Override
      public void end(byte[] lastFrame) {
        if (!closed()) {
          if (lastFrame != null) {
            write(lastFrame);
          }
          closed = true;
          ws.close();
        }
      }
    };
  }
}
