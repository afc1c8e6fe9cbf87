package io.streamdiffusion4j.web;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A client on a plain socket, for what the JDK's clients will not do: send any Host header, and
 * speak WebSocket without ever reading what the server sends.
 */
final class RawClient implements AutoCloseable {
    /** A frame from the server: its opcode and payload. */
    record Frame(int opcode, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        /** The close code of a close frame. */
        int closeCode() {
            return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : -1;
        }
    }

    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /**
     * @param receiveBuffer the socket's receive buffer (small: the server's writes back up sooner)
     */
    static RawClient open(int port, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) s.setReceiveBufferSize(receiveBuffer);
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(30_000);
        return new RawClient(s);
    }

    /** Sends a GET with these headers (Host included) and returns the status code; the connection closes after. */
    static int get(int port, String path, Map<String, String> headers) throws IOException {
        try (RawClient c = open(port, 0)) {
            StringBuilder r = new StringBuilder("GET " + path + " HTTP/1.1\r\n");
            headers.forEach((k, v) -> r.append(k).append(": ").append(v).append("\r\n"));
            r.append("Connection: close\r\n\r\n");
            c.out.write(r.toString().getBytes(StandardCharsets.ISO_8859_1));
            c.out.flush();
            return c.readStatus();
        }
    }

    /** The headers of a WebSocket upgrade to {@code path}, with this Host and Origin (null: none). */
    static Map<String, String> upgradeHeaders(String host, String origin) {
        var h = new java.util.LinkedHashMap<String, String>();
        h.put("Host", host);
        if (origin != null) h.put("Origin", origin);
        h.put("Upgrade", "websocket");
        h.put("Connection", "Upgrade");
        h.put("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        h.put("Sec-WebSocket-Version", "13");
        return h;
    }

    /** Opens a WebSocket (reads only the handshake's answer); throws unless it is 101. */
    static RawClient webSocket(int port, String path, int receiveBuffer) throws IOException {
        RawClient c = open(port, receiveBuffer);
        StringBuilder r = new StringBuilder("GET " + path + " HTTP/1.1\r\n");
        upgradeHeaders("127.0.0.1:" + port, null).forEach((k, v) -> r.append(k).append(": ").append(v).append("\r\n"));
        r.append("\r\n");
        c.out.write(r.toString().getBytes(StandardCharsets.ISO_8859_1));
        c.out.flush();
        int status = c.readStatus();
        if (status != 101) throw new IOException("upgrade answered " + status);
        return c;
    }

    /** The status code; reads the header block through its blank line. */
    private int readStatus() throws IOException {
        String status = line();
        while (!line().isEmpty()) { } // headers
        return Integer.parseInt(status.split(" ")[1]);
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') b.write(c);
        if (c == -1 && b.size() == 0) throw new IOException("connection closed");
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** A masked text frame, as a client must send it. */
    static byte[] textFrame(String text) {
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        if (payload.length > 125) throw new IllegalArgumentException("short frames only");
        byte[] mask = {0x11, 0x22, 0x33, 0x44};
        byte[] f = new byte[6 + payload.length];
        f[0] = (byte) 0x81;
        f[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, f, 2, 4);
        for (int i = 0; i < payload.length; i++) f[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        return f;
    }

    /**
     * Writes {@code frame} up to {@code times} times without reading anything, until the server
     * closes the connection; returns how many were written.
     */
    int flood(byte[] frame, int times) {
        byte[] batch = new byte[frame.length * 100];
        for (int i = 0; i < 100; i++) System.arraycopy(frame, 0, batch, i * frame.length, frame.length);
        int sent = 0;
        try {
            while (sent < times) {
                out.write(batch);
                sent += 100;
            }
            out.flush();
        } catch (IOException e) {
            // the server closed the connection: what this test expects sooner or later
        }
        return sent;
    }

    /** Reads the server's frames until its close frame or the end of the connection. */
    List<Frame> readUntilClose() throws IOException {
        List<Frame> frames = new ArrayList<>();
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int b0;
            try {
                b0 = d.read();
            } catch (IOException e) {
                return frames; // reset after a hard close
            }
            if (b0 == -1) return frames;
            int b1 = d.readUnsignedByte();
            long len = b1 & 0x7f;
            if (len == 126) len = d.readUnsignedShort();
            else if (len == 127) len = d.readLong();
            byte[] payload = new byte[Math.toIntExact(len)];
            d.readFully(payload);
            Frame f = new Frame(b0 & 0x0f, payload);
            frames.add(f);
            if (f.opcode() == 8) return frames;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
