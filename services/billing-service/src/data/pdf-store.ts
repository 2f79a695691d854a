import type { Sidecar } from '@caregrid/platform';

/**
 * Invoice PDFs kept through a Dapr output binding (`invoice-storage`:
 * bindings.localstorage locally; object storage is a change of YAML only).
 */
export class PdfStore {
  constructor(
    private readonly sidecar: Sidecar,
    private readonly binding: string,
  ) {}

  async save(fileName: string, pdf: Buffer): Promise<void> {
    // The binding base64-decodes string data, so binary survives the JSON API.
    await this.sidecar.invokeBinding(this.binding, 'create', pdf.toString('base64'), { fileName });
  }

  /**
   * The stored PDF, or undefined when it is not there or not whole yet: the
   * binding writes a file in place (created empty, then filled), and the
   * subscriber that issued the invoice may still be writing it when the first
   * download asks. An invoice PDF is a few KB, so it is read whole and checked
   * from its header to its end-of-file marker before anyone is given it.
   */
  async readComplete(fileName: string): Promise<Buffer | undefined> {
    const stored = await this.sidecar.bindingStream(this.binding, 'get', { fileName });
    if (!stored?.body) return undefined;
    const pdf = Buffer.from(await stored.arrayBuffer());
    const whole = pdf.subarray(0, 5).toString('latin1') === '%PDF-' && pdf.subarray(-32).toString('latin1').includes('%%EOF');
    return whole ? pdf : undefined;
  }
}
