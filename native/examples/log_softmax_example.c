/* log_softmax_example.c - Softmax4J from C: forward, then backward. */
#include <math.h>
#include <stdio.h>

#include <softmax4j.h>

int main(void) {
  const float x[2 * 4] = {1.0f, 2.0f, 3.0f, 4.0f,
                          0.5f, 0.5f, 0.5f, -INFINITY}; /* -inf: masked out */
  float y[2 * 4], gx[2 * 4];
  const float gy[2 * 4] = {1.0f, 0.0f, 0.0f, 0.0f,
                           0.0f, 0.0f, 1.0f, 0.0f};

  int rc = s4j_log_softmax_forward_f32(x, y, 2, 4);            /* y = log_softmax(x) */
  if (rc == S4J_OK) rc = s4j_log_softmax_backward_f32(gy, y, gx, 2, 4); /* gx = dL/dx */
  if (rc != S4J_OK) {
    fprintf(stderr, "softmax4j: %s\n", s4j_strerror(rc));
    return 1;
  }

  printf("isa: %s\n", s4j_isa());
  for (int r = 0; r < 2; r++) {
    printf("y[%d]  =", r);
    for (int c = 0; c < 4; c++) printf(" %9.5f", y[r * 4 + c]);
    printf("\ngx[%d] =", r);
    for (int c = 0; c < 4; c++) printf(" %9.5f", gx[r * 4 + c]);
    printf("\n");
  }
  return 0;
}
