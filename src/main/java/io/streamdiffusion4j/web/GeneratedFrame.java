package io.streamdiffusion4j.web;

/**
 * One generated image on its way to a client.
 *
 * @param seq the session's output number, from 1
 * @param source what it was made from: the client's input frame number (img2img) or the
 *               settings version (txt2img)
 * @param jpeg the encoded image
 * @param serverNanos time on the server: from the input frame's arrival (img2img) or the model
 *                    call's start (txt2img) until the JPEG was ready
 */
record GeneratedFrame(long seq, long source, byte[] jpeg, long serverNanos) {}
